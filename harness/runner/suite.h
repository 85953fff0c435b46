// Suites: the declarative description of a run (harness/suites/<name>.json) — scenarios with
// their path and load (closed loop: pipelining depth and connection levels; open loop: offered
// rates, absolute or as fractions of a per-server capacity probe, an optional latency SLO and
// capacity search; a downstream service for /gateway scenarios), plus duration, warm-up, primer, repetitions and cold-start count.
// Validation errors name the file, the field and what is valid. Pure functions;
// thread-compatible.
#pragma once

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lab {

struct suite_error : std::runtime_error {
  using runtime_error::runtime_error;
};

enum class load_kind { closed, open };
const char* to_string(load_kind kind);  // "closed" | "open"

// The closed-loop run that measures a server's capacity before an open-loop sweep given as
// rate_fractions: wrk at `connections` for `duration_s` on the scenario's path.
struct capacity_probe {
  int connections = 64;
  double duration_s = 2;  // whole seconds (wrk)
  bool operator==(const capacity_probe&) const = default;
};

// The downstream service a scenario's /gateway calls ({bin}/downstream, docs/harness.md "The
// downstream"): its delay profile (`fixed`, `lognormal:SIGMA`, `tail:P:EXTRA_MS`, as the
// downstream's --delay takes it) and its I/O threads.
struct downstream_config {
  std::string delay = "fixed";
  int threads = 1;
  bool operator==(const downstream_config&) const = default;
  std::string describe() const;  // "fixed, 1 thread"
};

// Open-loop connection cap given to lab_load when a scenario names none.
inline constexpr int default_open_connection_cap = 1024;

struct scenario {
  std::string name;              // [a-z0-9_]+, unique in the suite
  std::string path;              // request target, starts with '/'
  int pipeline = 1;              // requests per write (1: no pipelining)
  std::vector<int> connections;  // closed: levels, ascending, each >= 1; open: [cap]
  int wrk_threads = 0;           // 0: one per client CPU (never more than connections)
  load_kind load = load_kind::closed;
  std::string generator;              // "wrk" | "lab_load"; closed default wrk, open lab_load
  std::vector<double> rates;          // open: offered req/s, ascending (or rate_fractions)
  std::vector<double> rate_fractions; // open: of the capacity probe's req/s, ascending
  std::optional<double> slo_p99_ms;   // open: capacity at SLO is computed when set
  int capacity_search_steps = 0;      // open with SLO: bisection steps after the sweep
  capacity_probe probe;               // open with rate_fractions
  // Seconds per measurement of this scenario when shorter than the suite's (whole seconds);
  // a scenario can only ask for shorter measurements (--duration changes the suite's).
  std::optional<double> duration_s;
  // A downstream started beside the server for this scenario (its own "downstream", else the
  // suite's); the server is started with {downstream} naming it. None: the registry's default.
  std::optional<downstream_config> downstream;

  bool is_open() const { return load == load_kind::open; }
  bool needs_probe() const { return is_open() && !rate_fractions.empty(); }
  // Open: the cap given to lab_load (connections[0]; default_open_connection_cap if unset).
  int connection_cap() const;
  // The number of sweep points: connection levels (closed) or rates (open).
  size_t level_count() const;
};

struct suite {
  std::string name, description;
  double duration_s = 2;   // per measurement, whole seconds (wrk's -d takes no fractions)
  double warmup_s = 0.5;   // per scenario, at its highest level, before its levels
  double primer_s = 0.5;   // once per server start, plaintext at low concurrency
  double timeout_s = 5;    // wrk --timeout: a request slower than this counts as a timeout
  int repetitions = 1;
  int startup_runs = 10;   // cold starts per server; 0 skips the startup measurement
  std::vector<scenario> scenarios;
};

// True if any scenario of `s` has a downstream (then servers are verified with a live one).
bool needs_downstream(const suite& s);

// Seconds per measurement of `sc` in `s`: min(sc.duration_s, s.duration_s).
double measurement_seconds(const suite& s, const scenario& sc);

// Validates a parsed suite; `source` only appears in messages. Unknown fields are errors.
suite parse_suite(const nlohmann::json& j, const std::string& source);
nlohmann::json suite_to_json(const suite& s);

// Suite names available under root/harness/suites (file stems), sorted.
std::vector<std::string> available_suites(const std::filesystem::path& root);

// `name_or_path` is a suite name (quick, full, ...) or a path to a .json file. An unknown
// name throws suite_error listing the available ones.
suite load_suite(const std::string& name_or_path, const std::filesystem::path& root);

// Keeps only the named scenarios (in suite order); an unknown name throws suite_error listing
// the valid ones. Empty `names` keeps all.
void select_scenarios(suite& s, const std::vector<std::string>& names);

}  // namespace lab
