#include "runner.h"

#include <arpa/inet.h>
#include <sched.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include "canary.h"
#include "conformance.h"
#include "http_client.h"
#include "proc_sampler.h"
#include "process.h"
#include "stats.h"
#include "summary.h"
#include "wrk.h"

namespace lab {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;
using nlohmann::json;

constexpr int measure_idle_timeout_s = 30;
constexpr int verify_idle_timeout_s = 2;
constexpr auto ready_timeout = std::chrono::seconds(30);
constexpr double server_start_cost_s = 0.5, step_overhead_s = 0.3, verify_cost_s = 3,
                 cold_start_cost_s = 0.25;

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

std::string format_duration(double seconds) {
  long s = std::lround(std::max(0.0, seconds));
  char buf[32];
  if (s >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

std::string utc_stamp() {
  std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", std::gmtime(&now));
  return buf;
}

// The live progress line: rewritten in place on a terminal, one line per step otherwise.
class progress_line {
 public:
  progress_line() : tty_(isatty(STDERR_FILENO)) {}
  void show(size_t done, size_t total, const std::string& what, double seconds_left) {
    std::ostringstream line;
    line << "[" << done << "/" << total << "] " << what << "  (~" << format_duration(seconds_left)
         << " left)";
    if (tty_) std::cerr << "\r\x1b[K" << line.str() << std::flush;
    else std::cerr << line.str() << "\n";
    dirty_ = tty_;
  }
  // Prints a message on its own line without losing the progress line.
  void note(const std::string& message) {
    if (dirty_) std::cerr << "\r\x1b[K";
    std::cerr << message << "\n";
    dirty_ = false;
  }
  void finish() {
    if (dirty_) std::cerr << "\n";
    dirty_ = false;
  }

 private:
  bool tty_;
  bool dirty_ = false;
};

// A started server and where its output goes.
struct running_server {
  child_process child;
  int port = 0;
  fs::path tmp;
  fs::path stderr_path;
};

struct start_context {
  const common_options* options;
  std::vector<int> server_cpus;
  fs::path logs, tmp_root;
};

void remove_quietly(const fs::path& p) {
  std::error_code ec;
  if (!p.empty()) fs::remove_all(p, ec);
}

void stop_server(running_server& server) {
  server.child.stop(std::chrono::seconds(3));
  remove_quietly(server.tmp);
}

// Starts a server and waits until it accepts connections; a port taken meanwhile (the child
// exits) is retried on another port. nullopt with `why` set on failure.
std::optional<running_server> start_server(const server_spec& spec, const start_context& ctx,
                                           int idle_timeout_s, const std::string& log_stem,
                                           std::string& why) {
  for (int attempt = 0; attempt < 3; ++attempt) {
    running_server server;
    server.port = pick_free_port(ctx.options->host);
    placeholders values;
    values.host = ctx.options->host;
    values.port = server.port;
    values.threads = static_cast<int>(ctx.server_cpus.size());
    values.idle_timeout_s = idle_timeout_s;
    values.bin = ctx.options->bin;
    values.root = ctx.options->root;
    fs::create_directories(ctx.tmp_root);
    std::string pattern = (ctx.tmp_root / (spec.name + "-XXXXXX")).string();
    if (!mkdtemp(pattern.data())) {
      why = "cannot create a temporary folder under " + ctx.tmp_root.string();
      return std::nullopt;
    }
    server.tmp = values.tmp = pattern;
    spawn_options so;
    so.cwd = ctx.options->root;
    so.cpus = ctx.server_cpus;
    so.stdout_path = ctx.logs / (log_stem + ".stdout");
    so.stderr_path = server.stderr_path = ctx.logs / (log_stem + ".stderr");
    try {
      server.child = child_process::spawn(render_argv(spec, values), so);
    } catch (const std::exception& e) {
      remove_quietly(server.tmp);
      why = std::string("cannot start: ") + e.what();
      return std::nullopt;
    }
    if (wait_until_accepting(ctx.options->host, server.port,
                             std::chrono::duration_cast<std::chrono::milliseconds>(ready_timeout),
                             &server.child))
      return server;
    const bool exited = !server.child.running();
    stop_server(server);
    why = (exited ? "exited before accepting connections (" + server.child.describe_exit() + ")"
                  : "not accepting connections within " + std::to_string(ready_timeout.count()) +
                        " s") +
          "; stderr: " + tail_file(server.stderr_path, 800);
    if (!exited) break;  // a hung server will not do better on another port
  }
  return std::nullopt;
}

json server_entry(const server_spec& spec) {
  return {{"name", spec.name},         {"model", spec.model},     {"language", spec.language},
          {"reference", spec.reference}, {"description", spec.description},
          {"status", "pending"},       {"reason", nullptr}};
}

// One GET of a scenario's path with its expected answer (for the contract's endpoints). Empty
// string: served correctly.
std::string smoke_check(const std::string& host, int port, const std::string& path) {
  try {
    auto r = http_get(host, port, path, std::chrono::seconds(5));
    if (r.status != 200) return "GET " + path + " answered " + std::to_string(r.status);
    const std::string route = path.substr(0, path.find('?'));
    const std::string query = path.find('?') == std::string::npos ? "" : path.substr(path.find('?') + 1);
    const bool digits = !r.body.empty() && r.body.find_first_not_of("0123456789") == std::string::npos;
    if (route == "/plaintext" && r.body != "Hello, World!") return "GET " + path + ": wrong body";
    if (route == "/json") {
      auto j = json::parse(r.body, nullptr, false);
      if (j != json{{"message", "Hello, World!"}}) return "GET " + path + ": wrong body";
    }
    if (route == "/compute" && !digits) return "GET " + path + ": body is not a number";
    if (route == "/sleep" && (!digits || query != "ms=" + r.body)) return "GET " + path + ": wrong body";
    return "";
  } catch (const std::exception& e) {
    return "GET " + path + ": " + e.what();
  }
}

// Runs the conformance checks against a fresh start of the server. Empty string: passed.
// `smoke_paths`: also GET each of these once; the paths that fail go to *not_served.
std::string verify_server(const server_spec& spec, const start_context& ctx, std::ostream* detail,
                          json* checks_out, const std::vector<std::string>& smoke_paths = {},
                          std::set<std::string>* not_served = nullptr) {
  std::string why;
  auto server = start_server(spec, ctx, verify_idle_timeout_s, spec.name + "-verify", why);
  if (!server) return why;
  conformance_options co;
  co.host = ctx.options->host;
  co.port = server->port;
  co.idle_timeout_s = verify_idle_timeout_s;
  co.exact_cpp_bytes = spec.language == "cpp" && !spec.reference;
  auto results = run_conformance(co);
  std::vector<std::string> failed;
  json checks = json::array();
  for (const auto& r : results) {
    if (!r.passed) failed.push_back(r.name + " (" + r.detail + ")");
    checks.push_back({{"name", r.name}, {"passed", r.passed}, {"detail", r.detail}});
    if (detail)
      *detail << "  " << (r.passed ? "pass " : "FAIL ") << r.name
              << (r.detail.empty() ? "" : ": " + r.detail) << "\n";
  }
  if (checks_out) *checks_out = checks;
  if (not_served)
    for (const auto& path : smoke_paths)
      if (!smoke_check(co.host, co.port, path).empty()) not_served->insert(path);
  const bool died = !server->child.running();
  stop_server(*server);
  if (died) return "died during the conformance checks (" + server->child.describe_exit() +
                   "); stderr: " + tail_file(server->stderr_path, 800);
  if (!failed.empty())
    return "conformance failed: " + std::to_string(failed.size()) + " of " +
           std::to_string(results.size()) + " checks: " + join(failed, "; ");
  return "";
}

void ensure_wrk() {
  if (!command_on_path("wrk"))
    throw std::runtime_error("wrk not found on PATH: install Debian package wrk (sudo apt-get install wrk)");
}

void raise_fd_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

void pin_self(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) CPU_SET(c, &set);
  sched_setaffinity(0, sizeof set, &set);
}

std::vector<server_spec> available_specs(const common_options& options) {
  return expand_variants(load_registry(options.root));
}

placeholders base_placeholders(const common_options& options) {
  placeholders values;
  values.host = options.host;
  values.bin = options.bin;
  values.root = options.root;
  return values;
}

}  // namespace

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr addr{};
  if (inet_pton(AF_INET, host.c_str(), &addr) != 1) return false;
  return (ntohl(addr.s_addr) >> 24) == 127;
}

std::vector<server_spec> select_servers(const std::vector<server_spec>& all,
                                        const std::vector<std::string>& names) {
  std::vector<server_spec> out;
  if (names.empty()) {
    // Variants ("event_loop+tbb") run only when named: the default run compares the models.
    for (const auto& s : all)
      if (s.enabled && s.name.find('+') == std::string::npos) out.push_back(s);
    return out;
  }
  std::vector<std::string> valid;
  for (const auto& s : all) valid.push_back(s.name);
  for (const auto& name : names) {
    auto it = std::find_if(all.begin(), all.end(), [&](const server_spec& s) { return s.name == name; });
    if (it == all.end())
      throw registry_error("unknown server '" + name + "'; valid servers: " + join(valid));
    if (std::none_of(out.begin(), out.end(), [&](const server_spec& s) { return s.name == name; }))
      out.push_back(*it);
  }
  return out;
}

std::vector<planned_block> plan_run(const suite& s, const std::vector<std::string>& servers,
                                    unsigned long long seed) {
  std::mt19937_64 rng(seed);
  std::vector<planned_block> plan;
  for (int rep = 0; rep < s.repetitions; ++rep) {
    std::vector<std::string> order = servers;
    // Fisher–Yates with our own index draw: std::shuffle's sequence is library-specific, and a
    // recorded seed must reproduce the same order elsewhere.
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
    for (const auto& server : order) {
      planned_block block{rep, server, {}};
      for (const auto& sc : s.scenarios)
        for (int c : sc.connections) block.measurements.push_back({server, sc.name, c, sc.pipeline, rep});
      plan.push_back(std::move(block));
    }
  }
  return plan;
}

std::vector<planned_block> remaining_blocks(const std::vector<planned_block>& plan,
                                            const std::set<measurement_key>& finished) {
  std::vector<planned_block> out;
  for (const auto& block : plan) {
    planned_block left{block.repetition, block.server, {}};
    for (const auto& key : block.measurements)
      if (!finished.count(key)) left.measurements.push_back(key);
    if (!left.measurements.empty()) out.push_back(std::move(left));
  }
  return out;
}

double estimate_seconds(const suite& s, const std::vector<planned_block>& blocks,
                        size_t servers_to_verify, size_t servers_to_cold_start) {
  double total = servers_to_verify * verify_cost_s;
  for (const auto& block : blocks) {
    total += server_start_cost_s + s.primer_s + step_overhead_s;
    std::set<std::string> scenarios;
    for (const auto& key : block.measurements) {
      scenarios.insert(key.scenario);
      total += s.duration_s + step_overhead_s;
    }
    total += scenarios.size() * (s.warmup_s + step_overhead_s);
  }
  total += servers_to_cold_start * s.startup_runs * cold_start_cost_s;
  return total;
}

int list_command(const common_options& options) {
  auto specs = available_specs(options);
  auto values = base_placeholders(options);
  std::printf("%-22s %-20s %-11s %-5s %s\n", "server", "model", "language", "ref", "status");
  for (const auto& spec : specs) {
    auto reason = unavailable_reason(spec, values);
    std::string status = reason ? *reason : "ready";
    std::printf("%-22s %-20s %-11s %-5s %s\n", spec.name.c_str(), spec.model.c_str(),
                spec.language.c_str(), spec.reference ? "yes" : "no", status.c_str());
  }
  std::printf("\n%zu servers registered (servers/*/server.json, servers/reference/*/server.json).\n"
              "`./lab run` measures every ready server; variants (name+variant) only when "
              "named with --servers a,b\n",
              specs.size());
  return 0;
}

int verify_command(const common_options& options) {
  if (!is_loopback_host(options.host))
    throw std::runtime_error("refusing non-loopback host '" + options.host +
                             "': the lab only loads 127.0.0.1");
  install_child_cleanup_handlers();
  auto selected = select_servers(available_specs(options), options.servers);
  std::string tmp_pattern = (fs::temp_directory_path() / "lab-verify-XXXXXX").string();
  if (!mkdtemp(tmp_pattern.data())) throw std::runtime_error("cannot create a temporary folder");
  const fs::path work = tmp_pattern;
  start_context ctx{&options, default_cpu_layout(online_cpus()).server_cpus, work, work / "tmp"};
  auto values = base_placeholders(options);
  int failed = 0, passed = 0, skipped = 0, partial = 0;
  for (const auto& spec : selected) {
    if (auto reason = unavailable_reason(spec, values)) {
      std::printf("%-22s skipped: %s\n", spec.name.c_str(), reason->c_str());
      ++skipped;
      continue;
    }
    std::ostringstream detail;
    auto why = verify_server(spec, ctx, &detail, nullptr);
    if (why.empty()) {
      std::printf("%-22s ok\n", spec.name.c_str());
      ++passed;
    } else if (spec.reference && why.rfind("conformance failed", 0) == 0) {
      // Reference servers may implement part of the contract (nginx: /plaintext and /json);
      // `run` measures them on what they serve. The strict gate is conformance_test.
      std::printf("%-22s partial (reference server): %s\n%s", spec.name.c_str(), why.c_str(),
                  detail.str().c_str());
      ++partial;
    } else {
      std::printf("%-22s FAILED: %s\n%s", spec.name.c_str(), why.c_str(), detail.str().c_str());
      ++failed;
    }
    std::fflush(stdout);
  }
  std::printf("\n%d passed, %d failed, %d partial (reference servers), %d skipped\n", passed,
              failed, partial, skipped);
  remove_quietly(work);
  return failed ? 1 : 0;
}

namespace {

// Everything one `run` needs while it goes.
class run_session {
 public:
  run_session(const run_options& options, suite s, json doc, fs::path folder, cpu_layout layout,
              std::vector<server_spec> specs)
      : options_(options), suite_(std::move(s)), doc_(std::move(doc)), folder_(std::move(folder)),
        layout_(std::move(layout)), specs_(std::move(specs)) {
    ctx_ = {&options_, layout_.server_cpus, folder_ / "logs", folder_ / "tmp"};
    fs::create_directories(ctx_.logs);
    script_ = options_.root / "harness" / "runner" / "report.lua";
    if (!fs::exists(script_)) throw std::runtime_error("missing " + script_.string());
  }

  int run();

 private:
  json& server_json(const std::string& name) {
    for (auto& s : doc_["servers"])
      if (s["name"] == name) return s;
    throw std::logic_error("no server entry " + name);
  }
  const server_spec& spec(const std::string& name) const {
    for (const auto& s : specs_)
      if (s.name == name) return s;
    throw std::logic_error("no spec " + name);
  }
  void save() {
    doc_["aggregates"] = make_aggregates(doc_["measurements"]);
    write_json_atomically(folder_ / "results.json", doc_);
  }
  void step(const std::string& what, double nominal_cost) {
    progress_.show(done_, total_, what, std::max(0.0, estimate_ - spent_));
    spent_ += nominal_cost;
  }
  void verify_all();
  void run_block(const planned_block& block);
  void measure_startup(const server_spec& spec);
  json measure(running_server& server, const server_spec& spec, const scenario& sc,
               const measurement_key& key);
  void record_failed(const server_spec& spec, const scenario& sc, const measurement_key& key,
                     const std::string& reason, bool died);
  wrk_job job_for(const running_server& server, const scenario& sc, int connections, double duration,
                  const std::string& stem) const;
  const scenario& scenario_named(const std::string& name) const {
    for (const auto& sc : suite_.scenarios)
      if (sc.name == name) return sc;
    throw std::logic_error("no scenario " + name);
  }

  const run_options& options_;
  suite suite_;
  json doc_;
  fs::path folder_, script_;
  cpu_layout layout_;
  std::vector<server_spec> specs_;
  start_context ctx_;
  progress_line progress_;
  size_t done_ = 0, total_ = 0;
  double estimate_ = 0, spent_ = 0;
  int failures_ = 0;
  int block_counter_ = 0;
};

wrk_job run_session::job_for(const running_server& server, const scenario& sc, int connections,
                             double duration, const std::string& stem) const {
  wrk_job job;
  job.url = "http://" + options_.host + ":" + std::to_string(server.port) + sc.path;
  job.connections = connections;
  job.threads = sc.wrk_threads > 0 ? sc.wrk_threads : static_cast<int>(layout_.client_cpus.size());
  job.pipeline = sc.pipeline;
  job.duration_s = duration;
  job.timeout_s = suite_.timeout_s;
  job.cpus = layout_.client_cpus;
  job.script = script_;
  job.output = ctx_.logs / (stem + ".wrk.json");
  job.console_log = ctx_.logs / (stem + ".wrk.txt");
  return job;
}

void run_session::verify_all() {
  auto values = base_placeholders(options_);
  for (const auto& spec : specs_) {
    json& entry = server_json(spec.name);
    if (entry["status"] != "pending") continue;  // decided earlier (resume)
    if (auto reason = unavailable_reason(spec, values)) {
      entry["status"] = "skipped";
      entry["reason"] = *reason;
      progress_.note(spec.name + ": skipped: " + *reason);
      save();
      continue;
    }
    step("verifying " + spec.name, verify_cost_s);
    json checks;
    std::vector<std::string> paths;
    for (const auto& sc : suite_.scenarios) paths.push_back(sc.path);
    std::set<std::string> not_served_paths;
    auto why = verify_server(spec, ctx_, nullptr, &checks, paths, &not_served_paths);
    entry["conformance"] = checks;
    json not_served = json::array();
    for (const auto& sc : suite_.scenarios)
      if (not_served_paths.count(sc.path)) not_served.push_back(sc.name);
    if (why.empty()) {
      entry["status"] = "ok";
    } else if (spec.reference && why.rfind("conformance failed", 0) == 0 &&
               not_served.size() < suite_.scenarios.size()) {
      // Reference servers need not implement the whole contract (nginx serves only /plaintext
      // and /json): they are measured on the scenarios whose endpoint answers correctly.
      entry["status"] = "ok";
      entry["reason"] = "partial reference server: " + why;
      entry["scenarios_not_served"] = not_served;
      progress_.note(spec.name + ": reference server failing part of the contract; not measured on: " +
                     (not_served.empty() ? std::string("(none)") : not_served.dump()));
    } else {
      entry["status"] = "failed";
      entry["reason"] = why;
      ++failures_;
      progress_.note(spec.name + ": not measured: " + why);
    }
    save();
  }
}

// What identifies a measurement in results.json, failed or not (and what --resume matches).
json measurement_identity(const server_spec& spec, const scenario& sc, const measurement_key& key) {
  return {{"server", spec.name},           {"model", spec.model},
          {"language", spec.language},     {"scenario", sc.name},
          {"path", sc.path},               {"connections", key.connections},
          {"pipeline", key.pipeline},      {"repetition", key.repetition}};
}

void run_session::record_failed(const server_spec& spec, const scenario& sc,
                                const measurement_key& key, const std::string& reason, bool died) {
  json flags = json::array();
  if (died) flags.push_back("server_died");
  json record = measurement_identity(spec, sc, key);
  record.update({{"status", "failed"}, {"reason", reason}, {"flags", flags}});
  doc_["measurements"].push_back(std::move(record));
  ++failures_;
  progress_.note(key.describe() + ": failed: " + reason);
  save();
}

json run_session::measure(running_server& server, const server_spec& spec, const scenario& sc,
                          const measurement_key& key) {
  const std::string stem = spec.name + "-" + sc.name + "-c" + std::to_string(key.connections) +
                           "-r" + std::to_string(key.repetition);
  auto job = job_for(server, sc, key.connections, suite_.duration_s, stem);
  group_sampler sampler(server.child.pid());
  sampler.start();
  std::optional<canary_run> finished;
  std::string wrk_failure;
  try {
    // The canary joins once wrk's connections are established (~20 % into the run) and waits
    // for answers until wrk ends: it catches connections the server never serves, which wrk
    // does not count as errors.
    finished = run_wrk_with_canary(job, options_.host, server.port, sc.path);
  } catch (const std::exception& e) {
    wrk_failure = e.what();
  }
  auto samples = sampler.stop();
  if (!server.child.running()) {
    return {{"failed", "server died during the measurement (" + server.child.describe_exit() +
                           "); stderr: " + tail_file(server.stderr_path, 800)},
            {"died", true}};
  }
  if (!finished) return {{"failed", wrk_failure}, {"died", false}};
  const wrk_run& run = finished->wrk;

  const auto& first = samples.front().sample;
  const auto& last = samples.back().sample;
  uint64_t rss_peak = 0;
  int threads_max = 0;
  json rss_samples = json::array();
  for (const auto& s : samples) {
    rss_peak = std::max(rss_peak, s.sample.rss_kb);
    threads_max = std::max(threads_max, s.sample.threads);
    rss_samples.push_back({std::round(s.t_s * 1000) / 1000, s.sample.rss_kb});
  }
  auto delta = [](uint64_t a, uint64_t b) { return b > a ? b - a : 0; };
  const double user = std::max(0.0, last.utime_s - first.utime_s);
  const double sys = std::max(0.0, last.stime_s - first.stime_s);
  const auto& r = run.result;
  const double utilization =
      run.wall_s > 0 ? run.client_cpu_s / (run.wall_s * layout_.client_cpus.size()) : 0;
  const bool client_bound = utilization >= 0.90;
  json flags = json::array();
  if (client_bound) flags.push_back("client_bound");
  if (r.errors.total() > 0) flags.push_back("errors");
  if (finished->starved) flags.push_back("starved");
  json record = measurement_identity(spec, sc, key);
  record.update({
          {"duration_s", r.duration_s},
          {"status", "ok"},
          {"reason", nullptr},
          {"requests", r.requests},
          {"bytes", r.bytes},
          {"requests_per_s", r.requests_per_s()},
          {"wrk_threads", std::max(1, std::min(job.threads, job.connections))},
          {"latency_us",
           {{"p50", r.latency.p50}, {"p75", r.latency.p75}, {"p90", r.latency.p90},
            {"p99", r.latency.p99}, {"p99_9", r.latency.p99_9}, {"max", r.latency.max},
            {"mean", r.latency.mean}, {"stdev", r.latency.stdev}}},
          {"latency_reachable_fraction", r.latency_reachable_fraction},
          {"errors",
           {{"connect", r.errors.connect}, {"read", r.errors.read}, {"write", r.errors.write},
            {"timeout", r.errors.timeout}, {"status", r.errors.status}}},
          {"server_stats",
           {{"cpu_user_s", user},
            {"cpu_sys_s", sys},
            {"cpu_us_per_request", r.requests > 0 ? json((user + sys) * 1e6 / r.requests) : json(nullptr)},
            {"rss_peak_kb", rss_peak},
            {"vm_hwm_kb", last.hwm_kb},
            {"rss_samples", rss_samples},
            {"threads_max", threads_max},
            {"processes", last.processes},
            {"voluntary_ctxt_switches", delta(first.voluntary_ctxt_switches, last.voluntary_ctxt_switches)},
            {"nonvoluntary_ctxt_switches",
             delta(first.nonvoluntary_ctxt_switches, last.nonvoluntary_ctxt_switches)}}},
          {"client", {{"cpu_s", run.client_cpu_s}, {"cpu_utilization", utilization}}},
          {"client_bound", client_bound},
          {"canary", finished->canary.to_json()},
          {"flags", flags}});
  return record;
}

void run_session::run_block(const planned_block& block) {
  const auto& spec_ = spec(block.server);
  const std::string stem = spec_.name + "-rep" + std::to_string(block.repetition);
  std::optional<running_server> server;
  auto ensure_started = [&](std::string& why) {
    if (server && server->child.running()) return true;
    if (server) stop_server(*server);
    server = start_server(spec_, ctx_, measure_idle_timeout_s,
                          stem + "-" + std::to_string(block_counter_++), why);
    if (!server) return false;
    // The primer: a short low-concurrency run so lazy initialisation (JITs, pools, caches)
    // happens before anything is measured.
    if (suite_.primer_s > 0) {
      step(spec_.name + ": primer", suite_.primer_s + step_overhead_s);
      scenario primer{"primer", "/plaintext", 1, {8}, 0};
      try {
        run_wrk_load(job_for(*server, primer, 8, suite_.primer_s, stem + "-primer"), suite_.primer_s);
      } catch (const std::exception&) {
        // A failing primer shows up in the measurements (or as a dead server) right after.
      }
    }
    return true;
  };

  step(spec_.name + ": starting (rep " + std::to_string(block.repetition + 1) + ")", server_start_cost_s);
  std::string warmed_up;  // scenario already warmed up in this block
  std::string start_failure;  // once a start fails, the block's other measurements fail fast
  for (const auto& key : block.measurements) {
    const auto& sc = scenario_named(key.scenario);
    if (start_failure.empty() && !ensure_started(start_failure) && start_failure.empty())
      start_failure = "unknown start failure";
    if (!start_failure.empty()) {
      record_failed(spec_, sc, key, "server not ready: " + start_failure, false);
      ++done_;
      continue;
    }
    if (warmed_up != sc.name && suite_.warmup_s > 0) {
      warmed_up = sc.name;
      const int highest = sc.connections.back();
      step(spec_.name + " " + sc.name + ": warm-up c=" + std::to_string(highest),
           suite_.warmup_s + step_overhead_s);
      try {
        run_wrk_load(job_for(*server, sc, highest, suite_.warmup_s, stem + "-" + sc.name + "-warmup"),
                     suite_.warmup_s);
      } catch (const std::exception&) {
      }
    }
    step(key.describe(), suite_.duration_s + step_overhead_s);
    json m = measure(*server, spec_, sc, key);
    ++done_;
    if (m.contains("failed")) {
      record_failed(spec_, sc, key, m["failed"].get<std::string>(), m["died"].get<bool>());
      continue;
    }
    doc_["measurements"].push_back(std::move(m));
    save();
  }
  if (server) stop_server(*server);
}

void run_session::measure_startup(const server_spec& spec) {
  std::vector<double> times_ms, rss_kb;
  std::string failure;
  for (int i = 0; i < suite_.startup_runs && failure.empty(); ++i) {
    step(spec.name + ": cold start " + std::to_string(i + 1) + "/" + std::to_string(suite_.startup_runs),
         cold_start_cost_s);
    running_server server;
    server.port = pick_free_port(options_.host);
    placeholders values = base_placeholders(options_);
    values.port = server.port;
    values.threads = static_cast<int>(layout_.server_cpus.size());
    values.idle_timeout_s = measure_idle_timeout_s;
    fs::create_directories(ctx_.tmp_root);
    std::string pattern = (ctx_.tmp_root / (spec.name + "-XXXXXX")).string();
    if (!mkdtemp(pattern.data())) {
      failure = "cannot create a temporary folder";
      break;
    }
    server.tmp = values.tmp = pattern;
    spawn_options so;
    so.cwd = options_.root;
    so.cpus = layout_.server_cpus;
    so.stdout_path = ctx_.logs / (spec.name + "-startup.stdout");
    so.stderr_path = server.stderr_path = ctx_.logs / (spec.name + "-startup.stderr");
    const auto argv = render_argv(spec, values);
    const auto t0 = clock_type::now();
    server.child = child_process::spawn(argv, so);
    std::optional<double> ready_ms;
    while (clock_type::now() - t0 < ready_timeout) {
      try {
        auto response = http_get(options_.host, server.port, "/plaintext", std::chrono::milliseconds(500));
        if (response.status == 200) {
          ready_ms = std::chrono::duration<double, std::milli>(clock_type::now() - t0).count();
          break;
        }
      } catch (const std::exception&) {
      }
      if (!server.child.running()) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    if (!ready_ms) {
      failure = (server.child.running() ? "no 200 from /plaintext within 30 s"
                                        : "exited (" + server.child.describe_exit() + ")") +
                std::string("; stderr: ") + tail_file(server.stderr_path, 800);
    } else {
      times_ms.push_back(*ready_ms);
      rss_kb.push_back(static_cast<double>(sample_process_group(server.child.pid()).rss_kb));
    }
    stop_server(server);
    ++done_;
  }
  if (!failure.empty()) {
    ++failures_;
    progress_.note(spec.name + ": startup measurement failed: " + failure);
  }
  auto with_samples = [](const std::vector<double>& values) {
    if (values.empty()) return json(nullptr);
    json j = spread_to_json(summarize(values));
    j["samples"] = values;
    return j;
  };
  doc_["startup"].push_back({{"server", spec.name},
                             {"model", spec.model},
                             {"language", spec.language},
                             {"runs", static_cast<int>(times_ms.size())},
                             {"status", failure.empty() ? "ok" : "failed"},
                             {"reason", failure.empty() ? json(nullptr) : json(failure)},
                             {"time_to_first_response_ms", with_samples(times_ms)},
                             {"idle_rss_kb", with_samples(rss_kb)}});
  save();
}

int run_session::run() {
  const auto started = clock_type::now();
  std::vector<std::string> names;
  for (const auto& s : specs_) names.push_back(s.name);
  const auto seed = doc_["context"]["seed"].get<unsigned long long>();
  const auto plan = plan_run(suite_, names, seed);

  size_t to_verify = 0;
  for (const auto& s : doc_["servers"])
    if (s["status"] == "pending") ++to_verify;
  std::set<std::string> started_up;
  for (const auto& s : doc_["startup"]) started_up.insert(s["server"].get<std::string>());
  auto left = remaining_blocks(plan, finished_measurements(doc_));
  size_t to_cold_start = suite_.startup_runs > 0 ? specs_.size() - std::min(specs_.size(), started_up.size()) : 0;
  estimate_ = estimate_seconds(suite_, left, to_verify, to_cold_start);
  size_t measurements_left = 0;
  for (const auto& b : left) measurements_left += b.measurements.size();
  std::fprintf(stderr,
               "lab: suite %s: %zu servers x %zu scenarios, %zu measurements of %.1f s "
               "(+%.1f s warm-up per scenario, %.1f s primer per start), %d repetition(s), "
               "%d cold starts per server\n"
               "lab: server CPUs %s, client CPUs %s, seed %llu\n"
               "lab: estimated time: %s (the arithmetic: %.0f s nominal)\n"
               "lab: results: %s\n",
               suite_.name.c_str(), specs_.size(), suite_.scenarios.size(), measurements_left,
               suite_.duration_s, suite_.warmup_s, suite_.primer_s, suite_.repetitions,
               suite_.startup_runs, format_cpu_list(layout_.server_cpus).c_str(),
               format_cpu_list(layout_.client_cpus).c_str(), seed,
               format_duration(estimate_).c_str(), estimate_, (folder_ / "results.json").c_str());

  total_ = measurements_left + to_cold_start * suite_.startup_runs;
  verify_all();
  // Recompute now that we know which servers are measured.
  auto is_ok = [&](const std::string& name) { return server_json(name)["status"] == "ok"; };
  std::erase_if(left, [&](const planned_block& b) { return !is_ok(b.server); });
  for (auto& b : left) {
    const json& entry = server_json(b.server);
    if (!entry.contains("scenarios_not_served")) continue;
    std::erase_if(b.measurements, [&](const measurement_key& k) {
      for (const auto& name : entry["scenarios_not_served"])
        if (name == k.scenario) return true;
      return false;
    });
  }
  std::erase_if(left, [](const planned_block& b) { return b.measurements.empty(); });
  total_ = 0;
  for (const auto& b : left) total_ += b.measurements.size();
  std::vector<std::string> cold;
  if (suite_.startup_runs > 0) {
    // Same seeded shuffle as the first repetition, so cold starts are not always in name order.
    for (const auto& b : plan)
      if (b.repetition == 0 && is_ok(b.server) && !started_up.count(b.server)) cold.push_back(b.server);
  }
  total_ += cold.size() * suite_.startup_runs;
  spent_ = 0;
  estimate_ = estimate_seconds(suite_, left, 0, cold.size());

  for (const auto& block : left) run_block(block);
  for (const auto& name : cold) measure_startup(spec(name));
  progress_.finish();

  doc_["complete"] = true;
  save();
  const std::string summary = summary_markdown(doc_);
  {
    std::ofstream out(folder_ / "summary.md");
    out << summary;
  }
  std::cout << summary << std::flush;
  const double wall = std::chrono::duration<double>(clock_type::now() - started).count();
  std::fprintf(stderr, "lab: finished in %s (estimated %s); results: %s\n",
               format_duration(wall).c_str(), format_duration(estimate_seconds(suite_, left, to_verify, cold.size())).c_str(),
               (folder_ / "results.json").c_str());
  remove_quietly(ctx_.tmp_root);

  const fs::path plot = options_.root / "scripts" / "plot.py";
  if (options_.plot && fs::exists(plot) && fs::exists("/usr/bin/python3")) {
    std::fprintf(stderr, "lab: plotting: /usr/bin/python3 scripts/plot.py %s\n", folder_.c_str());
    try {
      spawn_options so;
      so.cwd = options_.root;
      so.stdout_path = folder_ / "plot.log";
      so.stderr_path = folder_ / "plot.log";
      auto child = child_process::spawn({"/usr/bin/python3", plot.string(), folder_.string()}, so);
      auto status = child.wait_for(std::chrono::minutes(5));
      if (status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0)
        std::fprintf(stderr, "lab: charts in %s (log: %s)\n", folder_.c_str(), (folder_ / "plot.log").c_str());
      else {
        if (!status) child.stop();
        std::fprintf(stderr, "lab: plot.py failed (%s); see %s\n", child.describe_exit().c_str(),
                     (folder_ / "plot.log").c_str());
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "lab: could not run plot.py: %s\n", e.what());
    }
  }
  if (failures_) std::fprintf(stderr, "lab: %d failure(s) recorded; exit status 1\n", failures_);
  return failures_ ? 1 : 0;
}

}  // namespace

int run_command(const run_options& options) {
  if (!is_loopback_host(options.host))
    throw std::runtime_error("refusing non-loopback host '" + options.host +
                             "': the lab only loads 127.0.0.1");
  ensure_wrk();
  auto all = available_specs(options);
  fs::path folder;
  json doc;
  suite s;
  cpu_layout layout;
  std::vector<server_spec> specs;
  if (!options.resume.empty()) {
    folder = options.resume;
    doc = load_results(folder / "results.json");
    s = parse_suite(doc["suite"], (folder / "results.json").string() + " suite");
    const auto& cl = doc["context"]["cpu_layout"];
    layout = {cl["server_cpus"].get<std::vector<int>>(), cl["client_cpus"].get<std::vector<int>>()};
    std::vector<std::string> names;
    for (const auto& entry : doc["servers"]) names.push_back(entry["name"]);
    specs = select_servers(all, names);
    drop_unfinished(doc);
    // Servers that failed before get another chance; startup entries that failed are redone.
    for (auto& entry : doc["servers"])
      if (entry["status"] != "ok") {
        entry["status"] = "pending";
        entry["reason"] = nullptr;
      }
    json kept = json::array();
    for (auto& st : doc["startup"])
      if (st.value("status", "ok") == "ok") kept.push_back(st);
    doc["startup"] = kept;
    doc["complete"] = false;
    std::fprintf(stderr, "lab: resuming %s: %zu measurements already done\n", folder.c_str(),
                 finished_measurements(doc).size());
  } else {
    s = load_suite(options.suite, options.root);
    select_scenarios(s, options.scenarios);
    if (options.duration_s) {
      if (*options.duration_s < 1 || *options.duration_s != std::floor(*options.duration_s))
        throw std::invalid_argument("--duration must be a whole number of seconds >= 1 (wrk takes no fractions)");
      s.duration_s = *options.duration_s;
      // Shorter measurements get proportionally shorter warm-ups, never longer ones.
      s.warmup_s = std::min(s.warmup_s, *options.duration_s);
      s.primer_s = std::min(s.primer_s, *options.duration_s);
    }
    if (options.repetitions) {
      if (*options.repetitions < 1) throw std::invalid_argument("--repetitions must be >= 1");
      s.repetitions = *options.repetitions;
    }
    if (options.startup_runs) s.startup_runs = std::max(0, *options.startup_runs);
    layout = options.layout ? *options.layout : default_cpu_layout(online_cpus());
    specs = select_servers(all, options.servers);
    const unsigned long long seed = options.seed ? *options.seed : std::random_device{}();
    fs::create_directories(options.out);
    folder = options.out / (utc_stamp() + "-" + s.name);
    for (int n = 2; fs::exists(folder); ++n)
      folder = options.out / (utc_stamp() + "-" + s.name + "-" + std::to_string(n));
    fs::create_directories(folder);
    doc = {{"schema_version", results_schema_version},
           {"kind", "service"},
           {"context", collect_context(options.root, layout, s.name, seed, options.command)},
           {"suite", suite_to_json(s)},
           {"complete", false},
           {"servers", json::array()},
           {"measurements", json::array()},
           {"aggregates", json::array()},
           {"startup", json::array()}};
    for (const auto& spec : specs) doc["servers"].push_back(server_entry(spec));
  }
  if (specs.empty()) throw std::runtime_error("no servers selected (see ./lab list)");
  install_child_cleanup_handlers();
  raise_fd_limit();
  pin_self(layout.client_cpus);  // keep the harness's own work off the server's CPUs
  write_json_atomically(folder / "results.json", doc);
  run_session session(options, std::move(s), std::move(doc), folder, layout, std::move(specs));
  return session.run();
}

}  // namespace lab
