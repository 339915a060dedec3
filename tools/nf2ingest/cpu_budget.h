// How many CPUs this process may use: the default size of each worker pool.
// std::thread::hardware_concurrency() counts the machine's CPUs, but in a
// container started with `--cpus 2` or under `taskset -c 0` the process gets
// fewer, and a pool sized for the machine then only adds context switches.
#ifndef NF2INGEST_TOOLS_NF2INGEST_CPU_BUDGET_H_
#define NF2INGEST_TOOLS_NF2INGEST_CPU_BUDGET_H_

#include <optional>
#include <string>
#include <string_view>

namespace nf2 {

// CPUs granted by a CFS quota: ceil(quota / period). nullopt when there is no
// quota or the text is not understood.
//   cgroup v2 cpu.max: "max 100000" (none) or "150000 100000" (2).
std::optional<unsigned> CpusFromCgroupV2(std::string_view cpu_max);
//   cgroup v1: cpu.cfs_quota_us ("-1" = none) and cpu.cfs_period_us.
std::optional<unsigned> CpusFromCgroupV1(std::string_view quota_us, std::string_view period_us);

// The smaller of the CPUs in this thread's affinity mask and the cgroup
// quota (read under `cgroup_root`, normally /sys/fs/cgroup); at least 1.
unsigned CpuBudget(const std::string& cgroup_root = "/sys/fs/cgroup");

}  // namespace nf2

#endif  // NF2INGEST_TOOLS_NF2INGEST_CPU_BUDGET_H_
