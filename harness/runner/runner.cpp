#include "runner.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <sstream>

#include "block.h"
#include "hosts_run.h"
#include "lab_load_generator.h"
#include "process.h"
#include "progress.h"
#include "startup.h"
#include "summary.h"
#include "verify.h"
#include "wrk.h"

namespace lab {
namespace {

namespace fs = std::filesystem;
using clock_type = std::chrono::steady_clock;
using nlohmann::json;

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

std::string number_list(const std::vector<double>& values) {
  std::ostringstream out;
  for (size_t i = 0; i < values.size(); ++i) out << (i ? ", " : "") << values[i];
  return out.str();
}

void remove_quietly(const fs::path& p) {
  std::error_code ec;
  if (!p.empty()) fs::remove_all(p, ec);
}

void ensure_wrk() {
  if (!command_on_path("wrk"))
    throw std::runtime_error("wrk not found on PATH: install Debian package wrk (sudo apt-get install wrk)");
}

bool needs_lab_load(const suite& s) {
  return std::any_of(s.scenarios.begin(), s.scenarios.end(),
                     [](const scenario& sc) { return sc.generator == "lab_load"; });
}

fs::path lab_load_binary(const common_options& options) { return options.bin / "lab_load"; }

void ensure_lab_load(const common_options& options) {
  const auto binary = lab_load_binary(options);
  if (::access(binary.c_str(), X_OK) != 0)
    throw std::runtime_error("the suite has open-loop scenarios but " + binary.string() +
                             " is missing: build it (cmake --build <build dir> --target lab_load)");
}

void ensure_downstream(const common_options& options) {
  const auto binary = options.bin / "downstream";
  if (::access(binary.c_str(), X_OK) != 0)
    throw std::runtime_error("the suite has scenarios with a downstream but " + binary.string() +
                             " is missing: build it (cmake --build <build dir> --target downstream)");
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

json server_entry(const server_spec& spec) {
  return {{"name", spec.name},         {"model", spec.model},     {"language", spec.language},
          {"reference", spec.reference}, {"description", spec.description},
          {"status", "pending"},       {"reason", nullptr}};
}

launch_settings launch_for(const common_options& options, std::vector<int> server_cpus,
                           const fs::path& logs, const fs::path& tmp_root) {
  launch_settings l;
  l.host = options.host;
  l.bin = options.bin;
  l.root = options.root;
  l.cpus = std::move(server_cpus);
  l.logs = logs;
  l.tmp_root = tmp_root;
  return l;
}

std::vector<std::string> scenario_paths(const suite& s) {
  std::vector<std::string> paths;
  for (const auto& sc : s.scenarios)
    if (std::find(paths.begin(), paths.end(), sc.path) == paths.end()) paths.push_back(sc.path);
  return paths;
}

std::set<std::pair<std::string, std::string>> recorded_capacity(const json& doc) {
  std::set<std::pair<std::string, std::string>> out;
  if (doc.contains("capacity"))
    for (const auto& e : doc["capacity"]) out.emplace(e["server"], e["scenario"]);
  return out;
}

size_t measurements_in(const std::vector<planned_block>& blocks) {
  size_t n = 0;
  for (const auto& b : blocks) {
    n += b.measurements.size();
    for (const auto& search : b.searches) n += search.second;
  }
  return n;
}

// Everything one `run` needs while it goes.
class run_session {
 public:
  run_session(const run_options& options, suite s, json doc, fs::path folder, cpu_layout layout,
              std::vector<server_spec> specs)
      : options_(options), suite_(std::move(s)), doc_(std::move(doc), folder),
        layout_(std::move(layout)), specs_(std::move(specs)), progress_(progress::on_stderr()),
        wrk_(options.root / "harness" / "runner" / "report.lua"),
        launch_(launch_for(options_, layout_.server_cpus, folder / "logs", folder / "tmp")) {
    fs::create_directories(launch_.logs);
    if (!fs::exists(options.root / "harness" / "runner" / "report.lua"))
      throw std::runtime_error("missing " + (options.root / "harness" / "runner" / "report.lua").string());
    if (needs_lab_load(suite_)) lab_load_.emplace(lab_load_binary(options_));
    if (!options.hosts.empty()) hosts_.emplace(load_hosts_file(options.hosts), options.root, options.bin);
  }

  int run();

 private:
  const server_spec& spec(const std::string& name) const {
    for (const auto& s : specs_)
      if (s.name == name) return s;
    throw std::logic_error("no spec " + name);
  }
  void verify_all();
  void record_verification(const server_spec& spec, const verification& v);
  void plot();

  const run_options& options_;
  suite suite_;
  run_document doc_;
  cpu_layout layout_;
  std::vector<server_spec> specs_;
  progress progress_;
  wrk_generator wrk_;
  std::optional<lab_load_generator> lab_load_;
  launch_settings launch_;
  std::optional<hosts_run> hosts_;  // --hosts: the blocks run on the hosts (verification here)
  int failures_ = 0;
};

void run_session::verify_all() {
  auto values = base_placeholders(options_);
  std::vector<const server_spec*> to_verify;
  for (const auto& spec : specs_) {
    json& entry = doc_.server_entry(spec.name);
    if (entry["status"] != "pending") continue;  // decided earlier (resume)
    if (auto reason = unavailable_reason(spec, values)) {
      entry["status"] = "skipped";
      entry["reason"] = *reason;
      progress_.note(spec.name + ": skipped: " + *reason);
      doc_.save();
      continue;
    }
    to_verify.push_back(&spec);
  }
  if (to_verify.empty()) return;
  std::vector<std::string> names;
  for (const auto* spec : to_verify) names.push_back(spec->name);
  progress_.step("verifying " + join(names) + " (" + std::to_string(options_.verify_jobs) + " at a time)",
                 verify_seconds(to_verify.size(), options_.verify_jobs));
  // A suite with /gateway scenarios: every server is verified against a live downstream (on the
  // client CPUs), so the gateway_* checks run and the smoke GETs of /gateway paths can pass.
  std::optional<verify_downstream> downstream;
  if (needs_downstream(suite_)) downstream = verify_downstream{downstream_config{}, layout_.client_cpus};
  const auto results = verify_servers(to_verify, launch_, scenario_paths(suite_), options_.verify_jobs,
                                      [&](size_t i) {
                                        progress_.step("verifying " + to_verify[i]->name + " again, alone",
                                                       verify_seconds(1, 1));
                                      },
                                      downstream);
  for (size_t i = 0; i < to_verify.size(); ++i) record_verification(*to_verify[i], results[i]);
}

void run_session::record_verification(const server_spec& spec, const verification& v) {
  json& entry = doc_.server_entry(spec.name);
  entry["conformance"] = v.checks_json();
  entry["verification"] = to_string(v.result);
  entry.erase("scenarios_not_served");
  if (v.result == verdict::ok) {
    entry["status"] = "ok";
  } else if (v.result == verdict::partial) {
    // Only what server.json declares in expected_failures is tolerated (nginx serves only
    // /plaintext and /json): measured on the scenarios whose path answers correctly.
    json not_served = json::array();
    for (const auto& sc : suite_.scenarios)
      if (std::find(v.paths_not_served.begin(), v.paths_not_served.end(), sc.path) != v.paths_not_served.end())
        not_served.push_back(sc.name);
    entry["reason"] = "partial: " + v.reason;
    if (not_served.size() == suite_.scenarios.size()) {
      entry["status"] = "skipped";
      entry["reason"] = "serves none of this suite's scenarios (" + join(v.paths_not_served) + "); " + v.reason;
    } else {
      entry["status"] = "ok";
      entry["scenarios_not_served"] = not_served;
    }
    progress_.note(spec.name + ": " + entry["reason"].get<std::string>() + "; not measured on: " +
                   (not_served.empty() ? std::string("(none)") : not_served.dump()));
  } else {
    entry["status"] = "failed";
    entry["reason"] = v.reason;
    ++failures_;
    progress_.note(spec.name + ": not measured: " + v.reason);
  }
  doc_.save();
}

int run_session::run() {
  const auto started = clock_type::now();
  json& doc = doc_.doc();
  std::vector<std::string> names;
  for (const auto& s : specs_) names.push_back(s.name);
  const auto seed = doc["context"]["seed"].get<unsigned long long>();
  auto plan = plan_run(suite_, names, seed);
  resolve_rates(plan, recorded_probes(doc));  // rates from the probes of an interrupted run

  size_t to_verify = 0;
  for (const auto& s : doc["servers"])
    if (s["status"] == "pending") ++to_verify;
  std::set<std::string> started_up;
  for (const auto& s : doc["startup"]) started_up.insert(s["server"].get<std::string>());
  auto left = remaining_blocks(plan, finished_measurements(doc), recorded_capacity(doc));
  const size_t to_cold_start =
      suite_.startup_runs > 0 ? specs_.size() - std::min(specs_.size(), started_up.size()) : 0;
  const int jobs = options_.verify_jobs;
  const double estimate = estimate_seconds(suite_, left, to_verify, to_cold_start, jobs);
  std::fprintf(stderr, "%s", describe_plan(suite_, specs_.size(), left, to_verify, to_cold_start, jobs).c_str());
  std::fprintf(stderr, "lab: server CPUs %s, client CPUs %s, seed %llu\nlab: results: %s\n",
               format_cpu_list(layout_.server_cpus).c_str(), format_cpu_list(layout_.client_cpus).c_str(),
               seed, doc_.file().c_str());

  progress_.plan(measurements_in(left) + to_cold_start * suite_.startup_runs, estimate);
  verify_all();
  // Recompute now that we know which servers are measured.
  auto is_ok = [&](const std::string& name) { return doc_.server_entry(name)["status"] == "ok"; };
  std::erase_if(left, [&](const planned_block& b) { return !is_ok(b.server); });
  for (auto& b : left) {
    const json& entry = doc_.server_entry(b.server);
    if (!entry.contains("scenarios_not_served")) continue;
    auto not_served = [&](const std::string& scenario) {
      return std::find(entry["scenarios_not_served"].begin(), entry["scenarios_not_served"].end(),
                       scenario) != entry["scenarios_not_served"].end();
    };
    std::erase_if(b.measurements, [&](const planned_measurement& m) { return not_served(m.key.scenario); });
    std::erase_if(b.searches, [&](const auto& search) { return not_served(search.first); });
  }
  std::erase_if(left, [](const planned_block& b) { return b.measurements.empty() && b.searches.empty(); });
  std::vector<std::string> cold;
  if (suite_.startup_runs > 0) {
    // Same seeded shuffle as the first repetition, so cold starts are not always in name order.
    for (const auto& b : plan)
      if (b.repetition == 0 && is_ok(b.server) && !started_up.count(b.server)) cold.push_back(b.server);
  }
  const double measured_estimate = estimate_seconds(suite_, left, 0, cold.size());
  progress_.plan(measurements_in(left) + cold.size() * suite_.startup_runs, measured_estimate);

  block_settings settings;
  settings.run_suite = &suite_;
  settings.launch = launch_;
  settings.client_cpus = layout_.client_cpus;
  settings.wrk = &wrk_;
  settings.lab_load = lab_load_ ? &*lab_load_ : nullptr;
  if (hosts_) hosts_->apply(settings);
  block_runner blocks(settings, doc_, progress_);
  for (const auto& block : left) failures_ += blocks.run(spec(block.server), block);

  for (const auto& name : cold) {
    const auto& s = spec(name);
    json entry = measure_cold_starts(s, launch_, measure_idle_timeout_s, suite_.startup_runs, [&](int i) {
      if (i > 0) progress_.advance();
      progress_.step(name + ": cold start " + std::to_string(i + 1) + "/" + std::to_string(suite_.startup_runs),
                     cold_start_cost_s);
    });
    progress_.advance();
    if (entry["status"] != "ok") {
      ++failures_;
      progress_.note(name + ": startup measurement failed: " + entry["reason"].get<std::string>());
    }
    doc["startup"].push_back(std::move(entry));
    doc_.save();
  }
  progress_.finish();

  doc["complete"] = true;
  doc_.save();
  const std::string summary = summary_markdown(doc);
  {
    std::ofstream out(doc_.folder() / "summary.md");
    out << summary;
  }
  std::cout << summary << std::flush;
  const double wall = std::chrono::duration<double>(clock_type::now() - started).count();
  std::fprintf(stderr, "lab: finished in %s (estimated %s); results: %s\n", format_duration(wall).c_str(),
               format_duration(estimate).c_str(), doc_.file().c_str());
  remove_quietly(launch_.tmp_root);
  if (options_.plot) plot();
  if (failures_) std::fprintf(stderr, "lab: %d failure(s) recorded; exit status 1\n", failures_);
  return failures_ ? 1 : 0;
}

void run_session::plot() {
  const fs::path script = options_.root / "scripts" / "plot.py";
  if (!fs::exists(script) || !fs::exists("/usr/bin/python3")) return;
  const fs::path folder = doc_.folder();
  std::fprintf(stderr, "lab: plotting: /usr/bin/python3 scripts/plot.py %s\n", folder.c_str());
  try {
    spawn_options so;
    so.cwd = options_.root;
    so.stdout_path = folder / "plot.log";
    so.stderr_path = folder / "plot.log";
    auto child = child_process::spawn({"/usr/bin/python3", script.string(), folder.string(), "--explore"}, so);
    auto status = child.wait_for(std::chrono::minutes(5));
    if (status && WIFEXITED(*status) && WEXITSTATUS(*status) == 0) {
      // End on the answer (headline.txt: report.py's sentences per scenario) and what to open.
      std::ifstream headline(folder / "headline.txt");
      std::string line;
      if (headline) std::fprintf(stderr, "\nWhat this run says:\n");
      while (std::getline(headline, line)) std::fprintf(stderr, "  %s\n", line.c_str());
      std::fprintf(stderr, "\nlab: report: %s\n", (folder / "report.html").c_str());
      if (fs::exists(folder / "explore.html"))
        std::fprintf(stderr, "lab: explore: %s\n", (folder / "explore.html").c_str());
      else
        std::fprintf(stderr, "lab: explore: ./lab explore %s\n", folder.c_str());
      std::fprintf(stderr, "lab: charts in %s (log: %s)\n", folder.c_str(), (folder / "plot.log").c_str());
    } else {
      if (!status) child.stop();
      std::fprintf(stderr, "lab: plot.py failed (%s); see %s\n", child.describe_exit().c_str(),
                   (folder / "plot.log").c_str());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lab: could not run plot.py: %s\n", e.what());
  }
}

}  // namespace

std::string describe_plan(const suite& s, size_t servers, const std::vector<planned_block>& blocks,
                          size_t servers_to_verify, size_t servers_to_cold_start, int verify_jobs) {
  std::ostringstream out;
  const size_t measurements = measurements_in(blocks);
  out << "lab: suite " << s.name << ": " << servers << " servers x " << s.scenarios.size()
      << " scenarios, " << blocks.size() << " server starts, up to " << measurements
      << " measurements of " << s.duration_s << " s (+" << s.warmup_s << " s warm-up per scenario, "
      << s.primer_s << " s primer per start), " << s.repetitions << " repetition(s), "
      << s.startup_runs << " cold starts per server\n";
  for (const auto& sc : s.scenarios) {
    out << "lab:   " << sc.name << " " << sc.path << ": ";
    if (!sc.is_open()) {
      std::vector<std::string> levels;
      for (int c : sc.connections) levels.push_back(std::to_string(c));
      out << "closed loop (" << sc.generator << "), connections " << join(levels);
      if (sc.duration_s && *sc.duration_s < s.duration_s) out << ", " << measurement_seconds(s, sc) << " s each";
      if (sc.pipeline > 1) out << ", pipeline " << sc.pipeline;
    } else {
      out << "open loop (lab_load, cap " << sc.connection_cap() << " connections), ";
      if (sc.duration_s && *sc.duration_s < s.duration_s) out << measurement_seconds(s, sc) << " s each, ";
      if (!sc.rates.empty()) out << "rates " << number_list(sc.rates) << " req/s";
      else
        out << "rates " << number_list(sc.rate_fractions) << " x a capacity probe (wrk "
            << sc.probe.duration_s << " s at " << sc.probe.connections << " connections)";
      if (sc.slo_p99_ms) out << ", capacity at p99 < " << *sc.slo_p99_ms << " ms";
      if (sc.capacity_search_steps > 0) out << " with up to " << sc.capacity_search_steps << " bisection steps";
    }
    if (sc.downstream) out << "; downstream " << sc.downstream->describe() << " on the client CPUs";
    out << "\n";
  }
  const double seconds = estimate_seconds(s, blocks, servers_to_verify, servers_to_cold_start, verify_jobs);
  // The same sum in parts: blocks (starts, primers, warm-ups or probes, measurements and search
  // steps with their overheads), verifications, cold starts.
  const double verify = verify_seconds(servers_to_verify, verify_jobs);
  const double cold = servers_to_cold_start * s.startup_runs * cold_start_cost_s;
  out << "lab: estimated time: " << format_duration(seconds) << " (the arithmetic: " << blocks.size()
      << " server starts with their primers, warm-ups or capacity probes and " << measurements
      << " measurements at duration + " << step_overhead_s << " s: " << format_duration(seconds - verify - cold)
      << "; " << servers_to_verify << " verifications " << verify_jobs << " at a time: " << format_duration(verify)
      << "; " << servers_to_cold_start * s.startup_runs << " cold starts x " << cold_start_cost_s
      << " s: " << format_duration(cold) << "; " << std::lround(seconds) << " s nominal)\n";
  return out.str();
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
  const auto launch = launch_for(options, default_cpu_layout(online_cpus()).server_cpus, work, work / "tmp");
  auto values = base_placeholders(options);
  int failed = 0, passed = 0, skipped = 0, partial = 0;
  std::vector<const server_spec*> to_verify;
  for (const auto& spec : selected) {
    if (auto reason = unavailable_reason(spec, values)) {
      std::printf("%-22s skipped: %s\n", spec.name.c_str(), reason->c_str());
      ++skipped;
      continue;
    }
    to_verify.push_back(&spec);
  }
  std::fflush(stdout);
  const auto results = verify_servers(to_verify, launch, {}, options.verify_jobs);
  for (size_t i = 0; i < to_verify.size(); ++i) {
    const auto& spec = *to_verify[i];
    const auto& v = results[i];
    std::ostringstream detail;
    print_checks(v, detail);
    switch (v.result) {
      case verdict::ok:
        std::printf("%-22s ok\n", spec.name.c_str());
        ++passed;
        break;
      case verdict::partial:
        // Only the checks server.json declares in expected_failures fail; `run` measures the
        // server on the scenarios it serves. The strict gate is conformance_test.
        std::printf("%-22s partial: %s\n", spec.name.c_str(), v.reason.c_str());
        ++partial;
        break;
      case verdict::failed:
        std::printf("%-22s FAILED: %s\n%s", spec.name.c_str(), v.reason.c_str(), detail.str().c_str());
        ++failed;
        break;
    }
  }
  std::printf("\n%d passed, %d failed, %d partial (declared expected_failures only), %d skipped\n",
              passed, failed, partial, skipped);
  remove_quietly(work);
  return failed ? 1 : 0;
}

suite suite_for_run(const run_options& options) {
  suite s = load_suite(options.suite, options.root);
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
  return s;
}

int run_command(const run_options& options) {
  if (!is_loopback_host(options.host))
    throw std::runtime_error("refusing non-loopback host '" + options.host +
                             "': the lab only loads 127.0.0.1");
  if (!options.hosts.empty()) load_hosts_file(options.hosts);  // a bad hosts file fails first
  auto all = available_specs(options);

  if (options.dry_run) {
    if (!options.resume.empty()) throw std::invalid_argument("--dry-run plans a new run; it does not take --resume");
    const suite s = suite_for_run(options);
    const auto selected = select_servers(all, options.servers);
    std::vector<std::string> names;
    const auto values = base_placeholders(options);
    for (const auto& spec : selected) {
      if (auto reason = unavailable_reason(spec, values)) {
        std::printf("lab: %s would be skipped: %s\n", spec.name.c_str(), reason->c_str());
        continue;
      }
      names.push_back(spec.name);
    }
    const auto blocks = plan_run(s, names, options.seed.value_or(1));
    std::printf("%s", describe_plan(s, names.size(), blocks, names.size(), s.startup_runs > 0 ? names.size() : 0,
                                    options.verify_jobs).c_str());
    std::printf("lab: dry run: servers %s; nothing was started\n", join(names).c_str());
    return 0;
  }

  ensure_wrk();
  fs::path folder;
  json doc;
  suite s;
  cpu_layout layout;
  std::vector<server_spec> specs;
  if (!options.resume.empty()) {
    folder = options.resume;
    doc = load_results(folder / "results.json");
    if (doc["schema_version"] == 1) {
      std::fprintf(stderr, "lab: %s is schema version 1: upgrading it to version %d (closed-loop wrk "
                   "measurements keep every field)\n", (folder / "results.json").c_str(), results_schema_version);
      upgrade_results(doc);
    }
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
    s = suite_for_run(options);
    if (!options.hosts.empty() && s.startup_runs > 0) {
      std::fprintf(stderr, "lab: --hosts: no cold starts (a start through the transport times the transport)\n");
      s.startup_runs = 0;
    }
    layout = options.layout ? *options.layout : default_cpu_layout(online_cpus());
    specs = select_servers(all, options.servers);
    const unsigned long long seed = options.seed ? *options.seed : std::random_device{}();
    fs::create_directories(options.out);
    folder = options.out / (utc_stamp() + "-" + s.name);
    for (int n = 2; fs::exists(folder); ++n)
      folder = options.out / (utc_stamp() + "-" + s.name + "-" + std::to_string(n));
    doc = {{"schema_version", results_schema_version},
           {"kind", "service"},
           {"context", collect_context(options.root, layout, s.name, seed, options.command)},
           {"suite", suite_to_json(s)},
           {"complete", false},
           {"servers", json::array()},
           {"measurements", json::array()},
           {"aggregates", json::array()},
           {"probes", json::array()},
           {"capacity", json::array()},
           {"startup", json::array()}};
    for (const auto& spec : specs) doc["servers"].push_back(server_entry(spec));
    if (options.fingerprint_s > 0) {
      // Before anything of the run starts: the machine as the measurements will find it.
      std::fprintf(stderr, "lab: machine fingerprint (~%.0f s, CPU %d)\n", options.fingerprint_s,
                   layout.server_cpus.empty() ? 0 : layout.server_cpus.front());
      doc["context"]["fingerprint"] = fingerprint_for_context(layout, options.fingerprint_s);
    }
    if (!options.hosts.empty()) doc["context"]["hosts"] = load_hosts_file(options.hosts).to_json();
  }
  if (specs.empty()) throw std::runtime_error("no servers selected (see ./lab list)");
  if (needs_lab_load(s)) ensure_lab_load(options);
  if (needs_downstream(s)) ensure_downstream(options);
  fs::create_directories(folder);
  install_child_cleanup_handlers();
  raise_fd_limit();
  pin_self(layout.client_cpus);  // keep the harness's own work off the server's CPUs
  write_json_atomically(folder / "results.json", doc);
  run_session session(options, std::move(s), std::move(doc), folder, layout, std::move(specs));
  return session.run();
}

}  // namespace lab
