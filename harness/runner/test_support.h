// Helpers shared by the runner's tests: where the repository and the binaries are, a fresh
// temporary folder, and small valid results documents and measurement records to build on.
// Header-only; test code only.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace lab::testing {

inline std::filesystem::path root() {
  const char* r = std::getenv("LAB_ROOT");
  return r ? std::filesystem::path(r) : std::filesystem::current_path();
}

inline std::filesystem::path bin() {
  const char* b = std::getenv("LAB_BIN");
  return b ? std::filesystem::path(b) : root() / "build" / "release" / "bin";
}

// /tmp/<prefix>_<name>_<pid>, emptied.
inline std::filesystem::path temp_dir(const std::string& name, const std::string& prefix = "runner_test") {
  auto dir = std::filesystem::temp_directory_path() / (prefix + "_" + name + "_" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

inline std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// An ok closed-loop (wrk) measurement record, v2 fields included.
inline nlohmann::json closed_measurement(const std::string& server, int c, int rep, double rps,
                                         const std::string& status = "ok", bool client_bound = false) {
  using nlohmann::json;
  json flags = json::array();
  if (client_bound) flags.push_back("client_bound");
  return {{"server", server}, {"model", "event_loop"}, {"language", "cpp"}, {"scenario", "plaintext"},
          {"path", "/plaintext"}, {"load", "closed"}, {"generator", "wrk"}, {"rate", nullptr},
          {"offered_rate_rps", nullptr}, {"connections", c}, {"pipeline", 1}, {"repetition", rep},
          {"duration_s", 1.0}, {"status", status}, {"reason", nullptr}, {"requests", 1000},
          {"requests_per_s", rps},
          {"latency_us", {{"p50", 10}, {"p75", 12}, {"p90", 15}, {"p99", rps / 100}, {"p99_9", 40},
                          {"max", 50}, {"mean", 11}, {"stdev", 2}}},
          {"errors", {{"connect", 0}, {"read", 0}, {"write", 0}, {"timeout", 0}, {"status", 0}}},
          {"server_stats", {{"cpu_user_s", 0.1}, {"cpu_sys_s", 0.1}, {"cpu_us_per_request", 200.0},
                            {"rss_peak_kb", 1000}, {"rss_samples", json::array()}, {"threads_max", 1},
                            {"voluntary_ctxt_switches", 1}, {"nonvoluntary_ctxt_switches", 1}}},
          {"client", {{"cpu_s", 0.5}, {"cpu_utilization", client_bound ? 0.95 : 0.5}}},
          {"client_bound", client_bound}, {"flags", flags}};
}

// An ok open-loop (lab_load) measurement record at `rate` with the given p99 and flags.
inline nlohmann::json open_measurement(const std::string& server, double rate, int rep, double achieved,
                                       double p99_us, nlohmann::json flags = nlohmann::json::array(),
                                       bool search_step = false) {
  using nlohmann::json;
  json m = {{"server", server}, {"model", "event_loop"}, {"language", "cpp"}, {"scenario", "plaintext_latency"},
            {"path", "/plaintext"}, {"load", "open"}, {"generator", "lab_load"}, {"rate", rate},
            {"offered_rate_rps", rate}, {"connections", 1024}, {"pipeline", 1}, {"repetition", rep},
            {"duration_s", 2.0}, {"status", "ok"}, {"reason", nullptr},
            {"requests", static_cast<long long>(achieved * 2)}, {"requests_sent", static_cast<long long>(rate * 2)},
            {"requests_per_s", achieved},
            {"latency_us", {{"p50", p99_us / 4}, {"p90", p99_us / 2}, {"p99", p99_us}, {"p99_9", p99_us * 2},
                            {"p99_99", p99_us * 3}, {"max", p99_us * 4}, {"mean", p99_us / 3}}},
            {"send_lag_us", {{"p50", 3}, {"p99", 40}, {"max", 900}}},
            {"errors", {{"connect", 0}, {"read", 0}, {"write", 0}, {"timeout", 0}, {"status", 0}}},
            {"server_stats", {{"cpu_user_s", 0.1}, {"cpu_sys_s", 0.1}, {"cpu_us_per_request", 20.0},
                              {"rss_peak_kb", 1000}, {"rss_samples", json::array()}, {"threads_max", 1},
                              {"voluntary_ctxt_switches", 1}, {"nonvoluntary_ctxt_switches", 1}}},
            {"client", {{"cpu_s", 0.5}, {"cpu_utilization", 0.3}}},
            {"client_bound", false}, {"flags", flags}};
  if (search_step) m["search_step"] = true;
  return m;
}

// A valid, empty v2 service document.
inline nlohmann::json minimal_doc() {
  using nlohmann::json;
  return {{"schema_version", 2}, {"kind", "service"}, {"complete", false},
          {"context", {{"date", "2026-11-23T05:00:00Z"}, {"host", "h"}, {"kernel", "k"},
                       {"compiler", "g++"}, {"build_type", "Release"}, {"suite", "quick"},
                       {"cores", 2}, {"seed", 7}, {"git_dirty", nullptr}, {"runtimes", json::object()},
                       {"cpu_layout", {{"server_cpus", {0}}, {"client_cpus", {1}}}}}},
          {"suite", {{"name", "quick"}, {"duration_s", 1.0}, {"repetitions", 3}, {"scenarios", json::array()}}},
          {"servers", json::array()}, {"measurements", json::array()}, {"aggregates", json::array()},
          {"probes", json::array()}, {"capacity", json::array()}, {"startup", json::array()}};
}

}  // namespace lab::testing
