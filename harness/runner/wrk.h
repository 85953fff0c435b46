// Running wrk and reading its results. wrk is started pinned to the client CPUs with
// harness/runner/report.lua, whose done() hook writes JSON to a file; this module parses that
// file and never wrk's console text. wrk_generator is wrk behind the load_generator interface
// (closed loop only). Not thread-safe (one wrk at a time).
#pragma once

#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "load_generator.h"

namespace lab {

struct wrk_error : load_error {
  using load_error::load_error;
};

struct latency_us {
  double p50 = 0, p75 = 0, p90 = 0, p99 = 0, p99_9 = 0, max = 0, mean = 0, stdev = 0;
};

struct error_counts {
  uint64_t connect = 0, read = 0, write = 0, timeout = 0, status = 0;
  uint64_t total() const { return connect + read + write + timeout + status; }
};

struct wrk_result {
  double duration_s = 0;
  uint64_t requests = 0, bytes = 0;
  latency_us latency;
  error_counts errors;
  // Share of wrk's latency samples its percentile() can reach (1 unless wrk's coordinated-
  // omission correction added samples below the smallest real one; see report.lua).
  double latency_reachable_fraction = 1;
  double requests_per_s() const { return duration_s > 0 ? requests / duration_s : 0; }
};

// Parses report.lua's JSON. Throws wrk_error naming the missing/invalid field.
wrk_result parse_wrk_report(const std::string& json_text);

struct wrk_job {
  std::string url;        // http://127.0.0.1:PORT/path
  int connections = 1;
  int threads = 1;        // clamped to [1, connections]
  int pipeline = 1;
  double duration_s = 1;  // whole seconds: wrk's -d and --timeout take no fractions
  double timeout_s = 5;   // per-request timeout (wrk --timeout)
  std::vector<int> cpus;  // client CPUs
  std::filesystem::path script;       // report.lua
  std::filesystem::path output;       // where done() writes JSON
  std::filesystem::path console_log;  // wrk's stdout+stderr (kept only for humans)
};

// wrk's argv for a job (without CPU pinning, which happens in the child before exec).
std::vector<std::string> wrk_argv(const wrk_job& job);

struct wrk_run {
  wrk_result result;
  double client_cpu_s = 0;  // user+sys of wrk itself (from the reaped child's rusage)
  double wall_s = 0;
};

// Load without results (primer, warm-up): wrk runs for `seconds` (any positive value; wrk
// itself only takes whole seconds, so it is started for the next whole second and stopped).
void run_wrk_load(const wrk_job& job, double seconds);

// Runs wrk, bounded: killed if it has not finished duration + timeout + 10 s after start.
// Throws wrk_error when wrk fails, is killed, or writes no report.
wrk_run run_wrk(const wrk_job& job);

// wrk as a load_generator: closed-loop levels only (an open level throws load_error). Its files
// are logs/<stem>.wrk.json (report.lua's output) and logs/<stem>.wrk.txt (console, for humans).
class wrk_generator : public load_generator {
 public:
  explicit wrk_generator(std::filesystem::path report_script) : script_(std::move(report_script)) {}
  std::string name() const override { return "wrk"; }
  load_result run(const load_request& request) override;
  void load_only(const load_request& request, double seconds) override;
  wrk_job job_for(const load_request& request) const;

 private:
  std::filesystem::path script_;
};

// A wrk run in the generator-neutral form (requests = responses: wrk counts completions).
load_result to_load_result(const wrk_run& run, int threads);

}  // namespace lab
