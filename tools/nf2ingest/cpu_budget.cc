#include "tools/nf2ingest/cpu_budget.h"

#include <sched.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "pipeline/absl_compat.h"

namespace nf2 {
namespace {

std::optional<unsigned> CpusFromQuota(int64_t quota, int64_t period) {
  if (quota <= 0 || period <= 0) return std::nullopt;
  return static_cast<unsigned>(std::max<int64_t>(1, (quota + period - 1) / period));
}

std::optional<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

std::optional<unsigned> CpusFromCgroupV2(std::string_view cpu_max) {
  const std::string_view text = Sv(absl::StripAsciiWhitespace(Av(cpu_max)));
  const size_t space = text.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  int64_t quota = 0, period = 0;
  if (!absl::SimpleAtoi(Av(text.substr(0, space)), &quota) ||
      !absl::SimpleAtoi(Av(text.substr(space + 1)), &period)) {
    return std::nullopt;  // "max 100000": no quota
  }
  return CpusFromQuota(quota, period);
}

std::optional<unsigned> CpusFromCgroupV1(std::string_view quota_us, std::string_view period_us) {
  int64_t quota = 0, period = 0;
  if (!absl::SimpleAtoi(absl::StripAsciiWhitespace(Av(quota_us)), &quota) ||
      !absl::SimpleAtoi(absl::StripAsciiWhitespace(Av(period_us)), &period)) {
    return std::nullopt;
  }
  return CpusFromQuota(quota, period);  // quota -1: none
}

unsigned CpuBudget(const std::string& cgroup_root) {
  unsigned cpus = std::thread::hardware_concurrency();
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) > 0) {
    cpus = static_cast<unsigned>(CPU_COUNT(&set));
  }
  std::optional<unsigned> quota;
  if (auto v2 = ReadFile(cgroup_root + "/cpu.max")) {
    quota = CpusFromCgroupV2(*v2);
  } else if (auto q = ReadFile(cgroup_root + "/cpu/cpu.cfs_quota_us")) {
    if (auto p = ReadFile(cgroup_root + "/cpu/cpu.cfs_period_us")) quota = CpusFromCgroupV1(*q, *p);
  }
  if (quota) cpus = std::min(cpus, *quota);
  return std::max(cpus, 1u);
}

}  // namespace nf2
