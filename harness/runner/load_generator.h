// The load generator interface: what the run protocol asks of a tool that loads a server (one
// request: target, level, duration, ...) and what it gets back (one result: counts, errors,
// latency percentiles, client CPU, offered and achieved rate). A level is a connection count
// (closed loop: each connection sends its next request when the previous answer arrives) or an
// offered rate (open loop: requests are sent on a schedule whatever the server does, so a slow
// server cannot slow the load down). Two implementations: wrk (closed loop; wrk.h) and the lab's
// own lab_load (open or closed loop; lab_load_generator.h). Like wrk's table of transport
// functions (src/net.h), this is the one place a further generator plugs in.
// A load_generator runs one load at a time; not thread-safe.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lab {

struct load_error : std::runtime_error {
  using runtime_error::runtime_error;
};

// A connection count (closed loop) or an offered rate in requests per second (open loop).
struct load_level {
  bool open = false;
  int connections = 1;  // closed: the level; open: the generator's connection cap
  double rate = 0;      // open: offered req/s; 0 for closed
  static load_level closed_loop(int connections) { return {false, connections, 0}; }
  static load_level open_loop(double rate, int connection_cap) { return {true, connection_cap, rate}; }
};

struct load_request {
  std::string url;              // http://127.0.0.1:PORT/path
  load_level level;
  double duration_s = 1;        // wrk: whole seconds
  int pipeline = 1;             // requests per write (wrk only)
  std::vector<int> cpus;        // client CPUs: the generator is pinned here
  int threads = 1;              // generator threads (wrk clamps to the connections)
  double timeout_s = 5;         // a request slower than this counts as a timeout
  std::filesystem::path logs;   // folder for the generator's files
  std::string log_stem;         // its files are logs/<stem>.<generator>.json / .txt
};

struct load_errors {
  uint64_t connect = 0, read = 0, write = 0, timeout = 0, status = 0;
  uint64_t total() const { return connect + read + write + timeout + status; }
};

// Latency of the answered requests in microseconds. Fields a generator does not report stay
// nullopt (wrk: no p99.99; lab_load: no p75, no stdev).
struct latency_summary {
  double p50 = 0, p90 = 0, p99 = 0, p99_9 = 0, max = 0, mean = 0;
  std::optional<double> p75, p99_99, stdev;
};

// How far behind its schedule an open-loop generator sent requests (microseconds).
struct send_lag_summary {
  double p50 = 0, p99 = 0, max = 0;
};

struct load_result {
  std::string generator;        // "wrk" | "lab_load"
  double duration_s = 0;        // the generator's measured interval
  uint64_t requests = 0;        // requests (wrk: equals responses, it counts completions;
                                // lab_load: responses + connect/read/write/timeout errors)
  uint64_t responses = 0;       // answers received (non-2xx included, counted in errors.status)
  std::string arrivals;         // open (lab_load): the arrival process, "uniform" | "exp"
  std::optional<uint64_t> bytes;     // response bytes (wrk)
  load_errors errors;
  latency_summary latency;
  double latency_reachable_fraction = 1;  // wrk only (see report.lua)
  double client_cpu_s = 0;      // user+sys of the generator process
  double wall_s = 0;            // from spawn to exit
  int threads = 1;              // generator threads actually used
  std::optional<double> offered_rate_rps;  // open: the rate asked for
  // Responses per second. lab_load: responses / max(duration_s, window_and_drain_s) — its own
  // achieved_rate divides by the window alone, so answers that came during the drain after it
  // (a server falling behind) would still count as keeping up.
  double achieved_rps = 0;
  std::optional<double> reported_achieved_rps;  // lab_load's achieved_rate, as it reported it
  std::optional<double> window_and_drain_s;     // lab_load: the window plus the wait for answers
  std::optional<send_lag_summary> send_lag;
  std::optional<uint64_t> connections_opened;
  std::optional<std::filesystem::path> histogram_file;  // absolute; a mergeable histogram
  std::optional<std::string> first_error;  // the generator's description of its first error
  // --hosts (harness/hosts/multi_host_load.h): each load host's own result, CPU and
  // client_bound, recorded beside the merged one; how the latencies were merged.
  nlohmann::json per_host;
  std::string latency_merge;
};

class load_generator {
 public:
  virtual ~load_generator() = default;
  virtual std::string name() const = 0;
  // Measures: runs the load, bounded in time (killed at duration + timeout + 10 s), and reads
  // the generator's own machine-readable report. Throws load_error on failure.
  virtual load_result run(const load_request& request) = 0;
  // Load without results (primer, warm-up) for `seconds`; failures are ignored.
  virtual void load_only(const load_request& request, double seconds) = 0;
};

// The user+sys CPU seconds of this process's reaped children so far (RUSAGE_CHILDREN): the
// increase across reaping one generator is that generator's CPU.
double reaped_children_cpu_s();

}  // namespace lab
