#include "lab_load_generator.h"

#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "process.h"

namespace lab {
namespace {

using nlohmann::json;

[[noreturn]] void bad(const std::string& field, const std::string& why) {
  throw load_error("lab_load report: " + field + " " + why);
}

const json& object_at(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || !j.at(key).is_object()) bad(where + key, "missing or not an object");
  return j.at(key);
}

double number_at(const json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || !j.at(key).is_number()) bad(where + key, "missing or not a number");
  const double d = j.at(key).get<double>();
  if (!std::isfinite(d) || d < 0) bad(where + key, "is negative or not finite");
  return d;
}

uint64_t count_at(const json& j, const char* key, const std::string& where) {
  const double d = number_at(j, key, where);
  if (d != std::floor(d)) bad(where + key, "is not a count");
  return static_cast<uint64_t>(d);
}

// Numbers on lab_load's command line: integers without a decimal point, never an exponent.
std::string plain_number(double value) {
  if (value == std::floor(value) && std::fabs(value) < 1e15)
    return std::to_string(static_cast<long long>(value));
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", value);
  return buf;
}

}  // namespace

load_result parse_lab_load_report(const std::string& json_text,
                                  const std::filesystem::path& histogram_file) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {
    throw load_error(std::string("lab_load report is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw load_error("lab_load report is not a JSON object");
  if (j.value("tool", "") != "lab_load") bad("tool", "is not \"lab_load\"");
  if (!j.contains("version") || j["version"] != 1)
    bad("version", "is not 1 (this harness reads version 1 of lab_load's report)");
  const std::string mode = j.value("mode", "");
  if (mode != "open" && mode != "closed") bad("mode", "is not \"open\" or \"closed\"");

  load_result r;
  r.generator = "lab_load";
  if (mode == "open") r.offered_rate_rps = number_at(j, "offered_rate", "");
  r.reported_achieved_rps = number_at(j, "achieved_rate", "");
  r.duration_s = number_at(j, "duration_s", "");
  r.connections_opened = count_at(j, "connections_opened", "");
  r.threads = static_cast<int>(count_at(j, "threads", ""));
  if (mode == "open") {
    if (!j.contains("arrivals") || !j["arrivals"].is_string()) bad("arrivals", "missing or not a string");
    r.arrivals = j["arrivals"].get<std::string>();
  }
  r.requests = count_at(j, "requests", "");
  r.responses = count_at(j, "responses", "");
  if (r.responses > r.requests) bad("responses", "exceeds requests");
  const auto& e = object_at(j, "errors", "");
  r.errors = {count_at(e, "connect", "errors."), count_at(e, "read", "errors."),
              count_at(e, "write", "errors."), count_at(e, "timeout", "errors."),
              count_at(e, "status", "errors.")};
  // Send lag only means something against a schedule (open loop).
  if (mode == "open") {
    const auto& lag = object_at(j, "send_lag_us", "");
    r.send_lag = send_lag_summary{number_at(lag, "p50", "send_lag_us."),
                                  number_at(lag, "p99", "send_lag_us."),
                                  number_at(lag, "max", "send_lag_us.")};
  }
  if (j.contains("first_error") && j["first_error"].is_string() && !j["first_error"].get<std::string>().empty())
    r.first_error = j["first_error"].get<std::string>();
  // No responses, no latency (null): the run is still data — everything was an error.
  if (r.responses == 0 && j.contains("latency_us") && j["latency_us"].is_null()) {
    r.latency.p99_99 = 0;
    r.client_cpu_s = number_at(j, "client_cpu_s", "");
    r.wall_s = number_at(j, "wall_s", "");
    r.window_and_drain_s = r.wall_s;
    r.achieved_rps = 0;
    if (!histogram_file.empty()) r.histogram_file = histogram_file;
    return r;
  }
  const auto& l = object_at(j, "latency_us", "");
  const std::string w = "latency_us.";
  r.latency.p50 = number_at(l, "p50", w);
  r.latency.p90 = number_at(l, "p90", w);
  r.latency.p99 = number_at(l, "p99", w);
  r.latency.p99_9 = number_at(l, "p99_9", w);
  r.latency.p99_99 = number_at(l, "p99_99", w);
  r.latency.max = number_at(l, "max", w);
  r.latency.mean = number_at(l, "mean", w);
  if (r.responses > 0 &&
      !(r.latency.p50 <= r.latency.p90 && r.latency.p90 <= r.latency.p99 &&
        r.latency.p99 <= r.latency.p99_9 && r.latency.p99_9 <= *r.latency.p99_99 &&
        *r.latency.p99_99 <= r.latency.max))
    bad("latency_us", "percentiles are not ordered (p50 <= p90 <= p99 <= p99_9 <= p99_99 <= max)");
  r.client_cpu_s = number_at(j, "client_cpu_s", "");
  r.wall_s = number_at(j, "wall_s", "");
  r.window_and_drain_s = r.wall_s;
  r.achieved_rps = r.responses / std::max({r.duration_s, r.wall_s, 1e-9});
  if (!histogram_file.empty()) r.histogram_file = histogram_file;
  return r;
}

std::vector<std::string> lab_load_argv(const std::filesystem::path& binary,
                                       const load_request& request,
                                       const std::filesystem::path& json_out) {
  std::vector<std::string> argv = {binary.string(), "--url", request.url};
  if (request.level.open) {
    if (request.level.rate <= 0) throw load_error("lab_load: an open-loop level needs a rate > 0");
    argv.insert(argv.end(), {"--rate", plain_number(request.level.rate)});
  }
  argv.insert(argv.end(), {"--connections", std::to_string(request.level.connections),
                           "--duration", plain_number(request.duration_s),
                           "--threads", std::to_string(std::max(1, request.threads)),
                           "--timeout", plain_number(request.timeout_s)});
  if (!json_out.empty()) argv.insert(argv.end(), {"--json", json_out.string()});
  return argv;
}

load_result lab_load_generator::run(const load_request& request) {
  if (request.pipeline > 1) throw load_error("lab_load does not pipeline (use wrk)");
  const auto output = request.logs / (request.log_stem + ".lab_load.json");
  const auto console = request.logs / (request.log_stem + ".lab_load.txt");
  std::error_code ec;
  std::filesystem::remove(output, ec);
  spawn_options options;
  options.cpus = request.cpus;
  options.stdout_path = console;
  options.stderr_path = console;
  const double cpu_before = reaped_children_cpu_s();
  const auto start = std::chrono::steady_clock::now();
  auto child = child_process::spawn(lab_load_argv(binary_, request, output), options);
  const auto limit = std::chrono::milliseconds(
      static_cast<long>((request.duration_s + request.timeout_s + 10) * 1000));
  auto status = child.wait_for(limit);
  if (!status) {
    child.stop(std::chrono::milliseconds(500));
    throw load_error("lab_load did not finish within " + std::to_string(limit.count()) + " ms; killed");
  }
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = reaped_children_cpu_s() - cpu_before;
  const int code = WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
  if (code != 0 && code != 1)
    throw load_error("lab_load " + child.describe_exit() + ": " + tail_file(console, 500));
  std::ifstream in(output);
  if (!in)
    throw load_error("lab_load wrote no report (" + output.string() + "), " + child.describe_exit() +
                     ": " + tail_file(console, 500));
  std::stringstream text;
  text << in.rdbuf();
  load_result r = parse_lab_load_report(text.str(), output);
  // Measured the same way as wrk's (rusage of the reaped child, spawn to exit), so the two
  // compare; lab_load's own window-and-drain time stays in window_and_drain_s.
  r.client_cpu_s = cpu;
  r.wall_s = wall;
  return r;
}

void lab_load_generator::load_only(const load_request& request, double seconds) {
  load_request bounded = request;
  bounded.duration_s = seconds;
  spawn_options options;
  options.cpus = request.cpus;
  try {
    auto child = child_process::spawn(lab_load_argv(binary_, bounded, {}), options);
    if (!child.wait_for(std::chrono::milliseconds(static_cast<long>((seconds + 2) * 1000))))
      child.stop(std::chrono::milliseconds(200));
  } catch (const std::exception&) {
    // Warm-up results are not used; a failing server shows up when measured.
  }
}

}  // namespace lab
