// A machine fingerprint: a few seconds of calibration that say how fast this machine is at the
// things a server's cost is made of — a system call round trip, a context switch between two
// threads pinned to one CPU, a clock read, a dependent chain of integer multiplies (user-space
// speed), memory latency by pointer chasing at sizes around L1, L2, L3 and far beyond, and
// streaming read and copy bandwidth — each repeated, with median and min–max. Two runs on two
// machines compare figure by figure (docs/numbers-that-travel.md). Functions here are
// thread-compatible; run_fingerprint starts and joins its own pinned threads.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lab {

// Median (mean of the two middle values for an even count), min, max and the samples.
struct figure_stats {
  double median = 0, min = 0, max = 0;
  std::vector<double> samples;
};
figure_stats summarize_samples(std::vector<double> samples);

struct fingerprint_options {
  double seconds = 3;           // the whole fingerprint's budget (approximate)
  int repetitions = 7;          // per figure
  int cpu = 0;                  // the CPU every full figure is measured on
  std::vector<int> other_cpus;  // also measured there: compute_ns and syscall_ns only
  // Pointer-chase sizes in bytes (around L1, L2, L3 and far beyond on current x86 servers).
  std::vector<size_t> chase_bytes = {16 << 10, 256 << 10, 4 << 20, 64 << 20};
  size_t bandwidth_bytes = 64 << 20;  // streaming buffer (copy: two halves of it)
};

// Figure names: "syscall_ns", "context_switch_ns", "clock_gettime_ns", "compute_ns",
// "chase_<size>_ns" (size as format_size gives it: 16KiB, 256KiB, 4MiB, 64MiB),
// "read_gbps", "copy_gbps".
struct fingerprint {
  int cpu = 0;
  int repetitions = 0;
  double wall_s = 0;
  std::map<std::string, figure_stats> figures;
  std::map<int, std::map<std::string, figure_stats>> other_cpus;
  // clocksource(s), transparent hugepages, CPU vulnerabilities not "Not affected"
  std::map<std::string, std::string> system;
  nlohmann::json to_json() const;
};

// Runs every figure pinned to options.cpu (and the short ones on other_cpus). Throws
// std::runtime_error if a CPU cannot be used (affinity refused) or memory cannot be had.
fingerprint run_fingerprint(const fingerprint_options& options);

// "16KiB", "4MiB", "1GiB", "100B": the exact size in the largest unit that divides it.
std::string format_size(size_t bytes);

// Parses a fingerprint block back (the inverse of to_json); throws std::invalid_argument
// naming the field that is missing or has the wrong type.
fingerprint fingerprint_from_json(const nlohmann::json& j);

// A random cyclic permutation of n slots (one cycle through all of them, so a pointer chase
// visits every slot before it repeats): next[i] is the slot after i. Deterministic in seed.
std::vector<size_t> random_cycle(size_t n, unsigned long long seed);

// What /proc/cpuinfo says of the first CPU that the model name hides: a VM may show every host
// as "AMD EPYC", while family/model tell the generation apart (26/2 is Zen 5), and the
// microcode, cache size, the TSC rate behind bogomips and a few instruction-set flags tell hosts
// of one generation apart. Keys: cpu_family_model_stepping, cpu_microcode, cpu_cache_size,
// cpu_bogomips, cpu_features (the listed flags present, in this order).
std::map<std::string, std::string> cpu_identity(const std::string& cpuinfo);

}  // namespace lab
