// Suites: the declarative description of a run (harness/suites/<name>.json) — scenarios with
// their path, pipelining depth and connection levels, plus duration, warm-up, primer,
// repetitions and cold-start count. Validation errors name the file, the field and what is
// valid. Pure functions; thread-compatible.
#pragma once

#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lab {

struct suite_error : std::runtime_error {
  using runtime_error::runtime_error;
};

struct scenario {
  std::string name;              // [a-z0-9_]+, unique in the suite
  std::string path;              // request target, starts with '/'
  int pipeline = 1;              // requests per write (1: no pipelining)
  std::vector<int> connections;  // levels, ascending, each >= 1
  int wrk_threads = 0;           // 0: one per client CPU (never more than connections)
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
