// Early-return helpers for absl::Status and absl::StatusOr, so that code
// made of many fallible steps reads as the steps rather than as error
// plumbing. One definition for the whole project instead of local copies.
#ifndef NF2INGEST_PIPELINE_STATUS_MACROS_H_
#define NF2INGEST_PIPELINE_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define NF2_STATUS_CONCAT_INNER(a, b) a##b
#define NF2_STATUS_CONCAT(a, b) NF2_STATUS_CONCAT_INNER(a, b)

// Returns the status of `expr` from the enclosing function when it is not OK.
#define RETURN_IF_ERROR(expr)                                                     \
  do {                                                                            \
    if (absl::Status nf2_status_ = (expr); !nf2_status_.ok()) return nf2_status_; \
  } while (false)

// ASSIGN_OR_RETURN(auto x, Fn()) or ASSIGN_OR_RETURN(existing, Fn()): the
// value of a StatusOr on success, else returns its status.
#define ASSIGN_OR_RETURN(lhs, expr) \
  NF2_ASSIGN_OR_RETURN_IMPL(NF2_STATUS_CONCAT(nf2_statusor_, __LINE__), lhs, expr)

// `lhs` may be a declaration (`auto x`), which parentheses would break.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define NF2_ASSIGN_OR_RETURN_IMPL(statusor, lhs, expr)     \
  auto statusor = (expr);                                  \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = *std::move(statusor)
// NOLINTEND(bugprone-macro-parentheses)

#endif  // NF2INGEST_PIPELINE_STATUS_MACROS_H_
