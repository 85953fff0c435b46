#include "wrk.h"

#include <sys/wait.h>

#include <algorithm>

#include <chrono>
#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "process.h"

namespace lab {
namespace {

double number_at(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.contains(key) || !j.at(key).is_number())
    throw wrk_error("wrk report: " + where + key + " missing or not a number");
  return j.at(key).get<double>();
}

uint64_t count_at(const nlohmann::json& j, const char* key, const std::string& where) {
  double d = number_at(j, key, where);
  if (d < 0 || d != std::floor(d)) throw wrk_error("wrk report: " + where + key + " is not a count");
  return static_cast<uint64_t>(d);
}

std::string seconds_arg(double s) {
  // wrk 4.1 parses times as whole numbers with an s/m/h suffix ("500ms" is a usage error).
  return std::to_string(std::max(1L, std::lround(std::ceil(s - 1e-9)))) + "s";
}

// Where wrk runs and where it writes: its console to the job's log, the Lua report to the
// file named by LAB_WRK_OUT.
spawn_options wrk_spawn_options(const wrk_job& job) {
  spawn_options options;
  options.cpus = job.cpus;
  options.stdout_path = job.console_log;
  options.stderr_path = job.console_log;
  options.env = {{"LAB_WRK_OUT", job.output.string()},
                 {"LAB_WRK_PIPELINE", std::to_string(job.pipeline)}};
  return options;
}

}  // namespace

wrk_result parse_wrk_report(const std::string& json_text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(json_text);
  } catch (const nlohmann::json::exception& e) {
    throw wrk_error(std::string("wrk report is not valid JSON: ") + e.what());
  }
  if (!j.is_object()) throw wrk_error("wrk report is not a JSON object");
  wrk_result r;
  r.duration_s = number_at(j, "duration_us", "") / 1e6;
  r.requests = count_at(j, "requests", "");
  r.bytes = count_at(j, "bytes", "");
  if (!j.contains("errors") || !j["errors"].is_object()) throw wrk_error("wrk report: errors missing");
  const auto& e = j["errors"];
  r.errors = {count_at(e, "connect", "errors."), count_at(e, "read", "errors."),
              count_at(e, "write", "errors."), count_at(e, "timeout", "errors."),
              count_at(e, "status", "errors.")};
  if (!j.contains("latency_us") || !j["latency_us"].is_object())
    throw wrk_error("wrk report: latency_us missing");
  const auto& l = j["latency_us"];
  r.latency = {number_at(l, "p50", "latency_us."),   number_at(l, "p75", "latency_us."),
               number_at(l, "p90", "latency_us."),   number_at(l, "p99", "latency_us."),
               number_at(l, "p99_9", "latency_us."), number_at(l, "max", "latency_us."),
               number_at(l, "mean", "latency_us."),  number_at(l, "stdev", "latency_us.")};
  if (j.contains("latency_reachable_fraction")) {
    r.latency_reachable_fraction = number_at(j, "latency_reachable_fraction", "");
    if (r.latency_reachable_fraction <= 0 || r.latency_reachable_fraction > 1)
      throw wrk_error("wrk report: latency_reachable_fraction outside (0, 1]");
  }
  // A percentile above the maximum means the percentile call was misused (e.g. a fraction
  // instead of a percentage would give values near the minimum, a rank past the end gives 0).
  if (r.requests > 0 && (r.latency.p50 > r.latency.p99 || r.latency.p99 > r.latency.max))
    throw wrk_error("wrk report: inconsistent percentiles (p50 <= p99 <= max violated)");
  return r;
}

std::vector<std::string> wrk_argv(const wrk_job& job) {
  int threads = std::max(1, std::min(job.threads, job.connections));
  return {"wrk",
          "-t" + std::to_string(threads),
          "-c" + std::to_string(job.connections),
          "-d" + seconds_arg(job.duration_s),
          "--timeout", seconds_arg(job.timeout_s),
          "--latency",
          "-s", job.script.string(),
          job.url};
}

void run_wrk_load(const wrk_job& job, double seconds) {
  const auto options = wrk_spawn_options(job);
  wrk_job bounded = job;
  bounded.duration_s = std::ceil(seconds);
  auto child = child_process::spawn(wrk_argv(bounded), options);
  if (!child.wait_for(std::chrono::milliseconds(static_cast<long>(seconds * 1000))))
    child.stop(std::chrono::milliseconds(200));
}

wrk_run run_wrk(const wrk_job& job) {
  std::error_code ec;
  std::filesystem::remove(job.output, ec);
  const auto options = wrk_spawn_options(job);
  const double cpu_before = reaped_children_cpu_s();
  const auto start = std::chrono::steady_clock::now();
  auto child = child_process::spawn(wrk_argv(job), options);
  const auto limit = std::chrono::milliseconds(
      static_cast<long>((job.duration_s + job.timeout_s + 10) * 1000));
  auto status = child.wait_for(limit);
  wrk_run run;
  if (!status) {
    child.stop(std::chrono::milliseconds(500));
    throw wrk_error("wrk did not finish within " + std::to_string(limit.count()) + " ms; killed");
  }
  run.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.client_cpu_s = reaped_children_cpu_s() - cpu_before;
  if (!WIFEXITED(*status) || WEXITSTATUS(*status) != 0)
    throw wrk_error("wrk " + child.describe_exit() + ": " + tail_file(job.console_log, 500));
  std::ifstream in(job.output);
  if (!in) throw wrk_error("wrk wrote no report (" + job.output.string() + "): " +
                           tail_file(job.console_log, 500));
  std::stringstream text;
  text << in.rdbuf();
  run.result = parse_wrk_report(text.str());
  return run;
}

wrk_job wrk_generator::job_for(const load_request& request) const {
  if (request.level.open)
    throw load_error("wrk is a closed-loop generator: it cannot offer a rate (use lab_load)");
  wrk_job job;
  job.url = request.url;
  job.connections = request.level.connections;
  job.threads = request.threads;
  job.pipeline = request.pipeline;
  job.duration_s = request.duration_s;
  job.timeout_s = request.timeout_s;
  job.cpus = request.cpus;
  job.script = script_;
  job.output = request.logs / (request.log_stem + ".wrk.json");
  job.console_log = request.logs / (request.log_stem + ".wrk.txt");
  return job;
}

load_result to_load_result(const wrk_run& run, int threads) {
  const auto& r = run.result;
  load_result out;
  out.generator = "wrk";
  out.duration_s = r.duration_s;
  out.requests = out.responses = r.requests;
  out.bytes = r.bytes;
  out.errors = {r.errors.connect, r.errors.read, r.errors.write, r.errors.timeout, r.errors.status};
  out.latency.p50 = r.latency.p50;
  out.latency.p75 = r.latency.p75;
  out.latency.p90 = r.latency.p90;
  out.latency.p99 = r.latency.p99;
  out.latency.p99_9 = r.latency.p99_9;
  out.latency.max = r.latency.max;
  out.latency.mean = r.latency.mean;
  out.latency.stdev = r.latency.stdev;
  out.latency_reachable_fraction = r.latency_reachable_fraction;
  out.client_cpu_s = run.client_cpu_s;
  out.wall_s = run.wall_s;
  out.threads = threads;
  out.achieved_rps = r.requests_per_s();
  return out;
}

load_result wrk_generator::run(const load_request& request) {
  const auto job = job_for(request);
  return to_load_result(run_wrk(job), std::max(1, std::min(job.threads, job.connections)));
}

void wrk_generator::load_only(const load_request& request, double seconds) {
  try {
    run_wrk_load(job_for(request), seconds);
  } catch (const std::exception&) {
    // Primer and warm-up results are not used; a failing server shows up when measured.
  }
}

}  // namespace lab
