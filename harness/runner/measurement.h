// One measurement as results.json records it (docs/results-schema.md, measurements[]): its
// identity (what --resume matches), what the load generator, the server sampler and the canary
// saw, the flags — computed here and nowhere else — and its JSON form. The data model of a run,
// kept apart from running (block.h) and presenting (summary.h), as Google Benchmark keeps its
// Run apart from the runner and the reporters. Pure values and functions; thread-compatible.
#pragma once

#include <algorithm>
#include <compare>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "canary.h"
#include "noise.h"
#include "load_generator.h"
#include "proc_sampler.h"

namespace lab {

// The thresholds behind the flags.
inline constexpr double client_bound_utilization = 0.90;   // closed loop: generator CPUs busy
inline constexpr double client_bound_send_lag_p99_us = 1000;  // open loop: behind schedule
inline constexpr double overloaded_below_offered = 0.95;   // open loop: achieved / offered
inline constexpr double downstream_bound_utilization = 0.90;  // the downstream's CPUs busy

// (server, scenario, load, connections, rate, pipeline, repetition): one measurement.
// `rate` is the offered req/s of an open-loop measurement (a whole number), 0 for closed loop.
struct measurement_key {
  std::string server, scenario;
  std::string load = "closed";  // "closed" | "open"
  int connections = 0, pipeline = 1, repetition = 0;
  double rate = 0;
  auto operator<=>(const measurement_key&) const = default;
  bool operator==(const measurement_key&) const = default;
  bool open() const { return load == "open"; }
  std::string describe() const;  // "event_loop plaintext c=16 rep 1", "… 5000 req/s rep 1"
};

// The key of a measurement record; v1 records (no "load", no "rate") are closed loop.
measurement_key key_of(const nlohmann::json& measurement);

// Everything that identifies a measurement record, failed or not.
struct measurement_identity {
  measurement_key key;
  std::string model, language, path, generator;
  std::optional<double> rate_fraction;  // open, rates given as fractions of the probe
  bool search_step = false;             // a capacity-search point, not part of the sweep
  nlohmann::json to_json() const;
};

// The server's process group over one measurement, from the sampler's series.
struct server_usage {
  double cpu_user_s = 0, cpu_sys_s = 0;
  uint64_t rss_peak_kb = 0, vm_hwm_kb = 0;
  nlohmann::json rss_samples = nlohmann::json::array();  // [[seconds, kb], ...]
  int threads_max = 0, processes = 0;
  uint64_t voluntary_ctxt_switches = 0, nonvoluntary_ctxt_switches = 0;
  uint64_t minor_faults = 0, major_faults = 0;  // during the measurement
  std::optional<gc_pauses> gc;  // servers whose start command enables their runtime's GC log
};
server_usage usage_from_samples(const std::vector<timed_sample>& samples);

// The downstream service over one measurement of a scenario with a downstream: its CPU (from a
// group_sampler of its process) and the deltas of its GET /stats counters.
struct downstream_usage {
  std::string delay;       // its --delay profile
  int threads = 1;         // its --threads
  double cpu_s = 0;        // user + sys during the measurement
  double wall_s = 0;       // the sampler's span
  int cpus = 1;            // CPUs it could use: min(threads, client CPUs it is pinned to)
  uint64_t calls = 0;      // "served" delta: /delay calls answered
  uint64_t cancelled = 0;  // "cancelled" delta: callers that left before the answer
  uint64_t in_flight_after = 0;  // "in_flight" right after the generator ended
  double utilization() const { return wall_s > 0 ? cpu_s / (wall_s * std::max(1, cpus)) : 0; }
};
// From the sampler's series of the downstream's process group (cpu_s, wall_s).
void add_samples(downstream_usage& usage, const std::vector<timed_sample>& samples);

// What the flags are computed from (a part of `measurement`, separate so tests can state it).
struct flag_inputs {
  bool open = false;
  double client_utilization = 0;
  std::optional<double> send_lag_p99_us;
  std::optional<double> offered_rps;
  double achieved_rps = 0;
  uint64_t errors = 0;
  bool starved = false;
  std::optional<double> downstream_utilization;  // scenarios with a downstream
  bool noisy_machine = false;  // machine_usage::noisy(): steal or other processes (noise.h)
  bool a_load_host_bound = false;  // --hosts: some load host was client_bound on its own
};
// client_bound: open loop with a send-lag report — send lag p99 > 1 ms; otherwise the
// generator's CPUs >= 90 % busy. errors: any. starved: the canary. overloaded: open loop,
// achieved < 95 % of offered. downstream_bound: the downstream's CPUs >= 90 % busy (its
// delays were not the only thing the gateway waited for). noisy_machine: steal > 2 % or other
// processes > 5 % of the machine's CPU time (noise.h). In that order.
std::vector<std::string> measurement_flags(const flag_inputs& in);
bool is_client_bound(const flag_inputs& in);

struct measurement {
  measurement_identity identity;
  load_result load;
  canary_result canary;
  bool starved = false;
  server_usage server;
  size_t client_cpus = 1;
  std::optional<downstream_usage> downstream;
  std::optional<machine_usage> machine;  // absent when the machine could not be read

  double client_utilization() const;
  flag_inputs inputs() const;
  std::vector<std::string> flags() const { return measurement_flags(inputs()); }
  // The gateway requests the downstream's calls served: the generator's answers plus the
  // canary's (its GETs of the same path call the downstream too).
  uint64_t gateway_requests() const;
  // The record (status "ok"); histogram_file is written relative to `run_folder`.
  nlohmann::json to_json(const std::filesystem::path& run_folder) const;
};

// The record of a measurement that did not finish: identity, reason, flags (server_died).
nlohmann::json failed_measurement_json(const measurement_identity& identity,
                                       const std::string& reason, bool server_died);

}  // namespace lab
