#include "pipeline/outcomes.h"

#include "absl/strings/str_cat.h"

namespace nf2::pipeline {

std::string OutcomeSnapshot::ToString() const {
  return absl::StrCat("lines=", lines_read, " delivered=", delivered, " filtered=", filtered,
                      " invalid=", invalid, " rejected=", rejected, " spooled=", spooled,
                      " undelivered=", undelivered);
}

OutcomeSnapshot Outcomes::Snapshot() const {
  OutcomeSnapshot s;
  // Read the outcomes before lines_read so a live snapshot never shows more
  // accounted than read.
  s.delivered = delivered_.load();
  s.filtered = filtered_.load();
  s.invalid = invalid_.load();
  s.rejected = rejected_.load();
  s.spooled = spooled_.load();
  s.undelivered = undelivered_.load();
  s.lines_read = lines_read_.load();
  return s;
}

}  // namespace nf2::pipeline
