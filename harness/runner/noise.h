// What else shaped a measurement besides the load (docs/numbers-that-travel.md): how much of the
// machine the hypervisor stole and other processes used meanwhile (from /proc/stat deltas minus
// the server's, the load generator's, the downstream's and the harness's own CPU), and the
// pauses of the server runtime's garbage collector, read from the GC log the runtime writes to
// the server's stdout or stderr (server.json "gc_log"). Pure values and parsers, plus
// log_window, which remembers where a log file ended; all thread-compatible.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "proc_sampler.h"

namespace lab {

// The noisy_machine flag: steal above 2 % or other processes above 5 % of the machine's CPU
// time (all CPUs × wall time) during the measurement.
inline constexpr double noisy_machine_steal_fraction = 0.02;
inline constexpr double noisy_machine_foreign_fraction = 0.05;

// The machine over one measurement. CPU times in seconds; `cpus` the machine's CPU count.
struct machine_usage {
  double wall_s = 0;
  int cpus = 1;
  double busy_s = 0, steal_s = 0;      // /proc/stat deltas, all CPUs
  double accounted_s = 0;              // server + load generator + downstream + harness
  double harness_s = 0;                // the harness's own share of accounted_s
  double capacity_s() const { return wall_s * std::max(1, cpus); }
  double foreign_s() const { return std::max(0.0, busy_s - accounted_s); }
  double steal_fraction() const { return capacity_s() > 0 ? steal_s / capacity_s() : 0; }
  double foreign_fraction() const { return capacity_s() > 0 ? foreign_s() / capacity_s() : 0; }
  bool noisy() const {
    return steal_fraction() > noisy_machine_steal_fraction ||
           foreign_fraction() > noisy_machine_foreign_fraction;
  }
  nlohmann::json to_json() const;
};

// busy/steal from two /proc/stat readings; accounted and harness CPU as given.
machine_usage machine_usage_between(const system_cpu_times& before, const system_cpu_times& after,
                                    double wall_s, double accounted_s, double harness_s);

// Garbage-collection pauses in a piece of a runtime's GC log.
struct gc_pauses {
  std::string runtime;  // "go" | "java" | "node"
  uint64_t count = 0;
  double total_ms = 0, max_ms = 0;
  nlohmann::json to_json() const;
};

// Stop-the-world pauses, one per line the runtime writes:
//   go   (GODEBUG=gctrace=1):  "gc 12 @3.4s 1%: A+B+C ms clock, ..." — pause = A + C (the two
//                              stop-the-world phases; B is concurrent marking)
//   java (-Xlog:gc):          "[..][gc] GC(3) Pause Young (Normal) ... 3.287ms" — every
//                              "Pause" line (Young, Remark, Cleanup, Full)
//   node (--trace-gc):        "[pid:0x..]  512 ms: Scavenge 3.9 (4.0) -> 3.6 (5.0) MB, 6.24 / 0.00 ms ..."
//                              — the first figure after "MB," (main-thread time of that GC)
// Other lines are ignored. `runtime` names the format expected; the result's count is 0 when
// the text holds no pause of it.
gc_pauses parse_gc_log(const std::string& runtime, const std::string& text);

// "go" for language go, "java" for java, "node" for javascript, nullopt otherwise.
std::optional<std::string> gc_runtime_of_language(const std::string& language);

// Remembers a file's size now; text_since() returns what was appended after that (a file that
// shrank or vanished gives "").
class log_window {
 public:
  explicit log_window(std::filesystem::path path);
  std::string text_since() const;

 private:
  std::filesystem::path path_;
  uintmax_t start_ = 0;
};

// Taken right before the load starts and read right after it: the machine's CPU times, the
// harness's own CPU time and where the server's stdout and stderr ended (`stderr_path`; the
// stdout beside it has the same stem, as launch.cpp names them).
class measurement_noise_probe {
 public:
  explicit measurement_noise_probe(const std::filesystem::path& stderr_path);
  // The machine since construction; `accounted_s`: the server's, the load generator's and the
  // downstream's CPU over the measurement (the harness's own is added here). nullopt if
  // /proc/stat could not be read.
  std::optional<machine_usage> machine(double accounted_s) const;
  // The server's GC pauses since construction, if its language has a GC log and its start
  // command (`command`) turns it on: GODEBUG=gctrace=1, -Xlog:gc, --trace-gc.
  std::optional<gc_pauses> gc_pauses_of(const std::string& language, const std::string& command) const;

 private:
  std::optional<system_cpu_times> before_;
  double own_cpu_before_s_ = 0;
  std::chrono::steady_clock::time_point start_;
  log_window stdout_, stderr_;
};

}  // namespace lab
