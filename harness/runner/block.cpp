#include "block.h"

#include <algorithm>
#include <cmath>
#include <optional>
#include <thread>

#include "canary.h"
#include "noise.h"
#include "capacity.h"
#include "downstream.h"
#include "proc_sampler.h"

namespace lab {

using nlohmann::json;

namespace {

const scenario& scenario_named(const suite& s, const std::string& name) {
  for (const auto& sc : s.scenarios)
    if (sc.name == name) return sc;
  throw std::logic_error("no scenario " + name);
}

}  // namespace

std::string log_stem_of(const measurement_key& key) {
  std::string stem = key.server + "-" + key.scenario + "-";
  if (key.open()) stem += "rate" + std::to_string(static_cast<long long>(std::llround(key.rate)));
  else stem += "c" + std::to_string(key.connections);
  return stem + "-r" + std::to_string(key.repetition);
}

load_request request_for(const block_settings& settings, const scenario& sc,
                         const measurement_key& key, int port, double duration_s,
                         const std::string& log_stem) {
  load_request r;
  r.url = "http://" + settings.launch.host + ":" + std::to_string(port) + sc.path;
  r.level = key.open() ? load_level::open_loop(key.rate, key.connections)
                       : load_level::closed_loop(key.connections);
  r.duration_s = duration_s;
  r.pipeline = sc.pipeline;
  r.cpus = settings.client_cpus;
  const int per_cpu = std::max<int>(1, static_cast<int>(settings.client_cpus.size()));
  r.threads = sc.wrk_threads > 0 ? sc.wrk_threads : per_cpu;
  r.timeout_s = settings.run_suite->timeout_s;
  r.logs = settings.launch.logs;
  r.log_stem = log_stem;
  return r;
}

// What one block needs while it runs.
class block_runner::session {
 public:
  session(block_runner& owner, const server_spec& spec, planned_block block)
      : o_(owner), s_(*owner.settings_.run_suite), spec_(spec), block_(std::move(block)),
        stem_(spec.name + "-rep" + std::to_string(block_.repetition)) {}

  int run() {
    o_.progress_.step(spec_.name + ": starting (rep " + std::to_string(block_.repetition + 1) + ")",
                      server_start_cost_s);
    std::vector<std::string> order;  // scenarios in suite order
    for (const auto& m : block_.measurements)
      if (std::find(order.begin(), order.end(), m.key.scenario) == order.end()) order.push_back(m.key.scenario);
    for (const auto& search : block_.searches)
      if (std::find(order.begin(), order.end(), search.first) == order.end()) order.push_back(search.first);
    std::stable_sort(order.begin(), order.end(), [&](const std::string& a, const std::string& b) {
      return index_of(a) < index_of(b);
    });
    for (size_t i = 0; i < order.size(); ++i) {
      const scenario& sc = scenario_named(s_, order[i]);
      // The downstream the server needs: the scenario's own; a scenario without one keeps
      // what runs, or (nothing running yet) takes the next one's, so a block whose first
      // scenarios need none does not start the server twice.
      if (sc.downstream || !server_running()) {
        wanted_downstream_ = sc.downstream;
        for (size_t k = i + 1; !wanted_downstream_ && k < order.size(); ++k)
          wanted_downstream_ = scenario_named(s_, order[k]).downstream;
      }
      run_scenario(sc);
    }
    stop_server();
    return failures_;
  }

 private:
  size_t index_of(const std::string& name) const {
    for (size_t i = 0; i < s_.scenarios.size(); ++i)
      if (s_.scenarios[i].name == name) return i;
    return s_.scenarios.size();
  }

  bool server_running() { return server_ && server_->running(); }

  // Stops the server (an unclean stop of a running one is recorded) and its downstream.
  void stop_server() {
    if (server_) {
      const bool was_running = server_->running();
      const auto& exit = server_->stop();
      if (was_running && !exit.clean()) note_unclean_stop(exit);
    }
    server_.reset();
    if (downstream_) {
      const bool was_running = downstream_->running();
      const auto exit = downstream_->stop();
      if (was_running && !exit.clean())
        o_.progress_.note(spec_.name + ": the downstream did not stop cleanly: " + exit.describe());
    }
    downstream_.reset();
  }

  // Starts the server (and primes it) unless it is running with the wanted downstream; with a
  // downstream, a fresh one is started first (its counters at 0, pinned to the client CPUs)
  // and named by {downstream}. False with start_failure_ set.
  bool ensure_started() {
    if (!start_failure_.empty()) return false;
    if (server_running() && server_downstream_ == wanted_downstream_ &&
        (!wanted_downstream_ || (downstream_ && downstream_->running())))
      return true;
    stop_server();
    const std::string start_stem = stem_ + "-" + std::to_string(o_.starts_++);
    launch_settings launch = o_.settings_.launch;
    if (wanted_downstream_) {
      try {
        downstream_.emplace(running_downstream::start(*wanted_downstream_, launch,
                                                      settings().client_cpus, start_stem + "-downstream"));
      } catch (const std::exception& e) {
        start_failure_ = std::string("downstream (") + wanted_downstream_->describe() + "): " + e.what();
        return false;
      }
      launch.downstream = downstream_->address();
    }
    server_downstream_ = wanted_downstream_;
    try {
      server_.emplace(launched_server::start(spec_, launch, measure_idle_timeout_s, start_stem));
    } catch (const std::exception& e) {
      start_failure_ = e.what();
      return false;
    }
    // The primer: a short low-concurrency run so lazy initialisation (JITs, pools, caches)
    // happens before anything is measured.
    if (s_.primer_s > 0) {
      o_.progress_.step(spec_.name + ": primer", s_.primer_s + step_overhead_s);
      scenario primer;
      primer.name = "primer";
      primer.path = "/plaintext";
      primer.connections = {8};
      primer.generator = "wrk";
      measurement_key key{spec_.name, "primer", "closed", 8, 1, block_.repetition, 0};
      o_.settings_.wrk->load_only(
          request_for(o_.settings_, primer, key, server_->port(), s_.primer_s, stem_ + "-primer"),
          s_.primer_s);
    }
    return true;
  }

  measurement_identity identity_of(const scenario& sc, const planned_measurement& pm,
                                    bool search_step, std::optional<double> probe_rps) const {
    measurement_identity id;
    id.key = pm.key;
    id.model = spec_.model;
    id.language = spec_.language;
    id.path = sc.path;
    id.generator = sc.generator;
    id.rate_fraction = pm.rate_fraction;
    if (search_step && probe_rps && *probe_rps > 0) id.rate_fraction = pm.key.rate / *probe_rps;
    id.search_step = search_step;
    return id;
  }

  void record_failed(const measurement_identity& id, const std::string& reason, bool died) {
    o_.doc_.add_measurement(failed_measurement_json(id, reason, died));
    ++failures_;
    o_.progress_.note(id.key.describe() + ": failed: " + reason);
  }

  void fail_all(const scenario& sc, const std::vector<planned_measurement>& items,
                const std::string& reason) {
    for (const auto& pm : items) {
      record_failed(identity_of(sc, pm, false, std::nullopt), reason, false);
      o_.progress_.advance();
    }
  }

  void run_scenario(const scenario& sc) {
    std::vector<planned_measurement> items;
    for (const auto& m : block_.measurements)
      if (m.key.scenario == sc.name) items.push_back(m);
    std::optional<int> search_steps;
    for (const auto& [name, steps] : block_.searches)
      if (name == sc.name) search_steps = steps;

    if (!ensure_started()) {
      fail_all(sc, items, "server not ready: " + start_failure_);
      return;
    }
    bool warmed_up = false;
    std::optional<double> probe_rps;
    if (sc.needs_probe()) {
      probe_rps = o_.doc_.probe_rps(spec_.name, sc.name);
      if (!probe_rps) {
        std::string why;
        probe_rps = run_probe(sc, why);
        warmed_up = true;
        if (!probe_rps) {
          fail_all(sc, items, "capacity probe failed: " + why);
          if (search_steps)
            o_.doc_.add_capacity(capacity_entry(spec_.name, sc.name, *sc.slo_p99_ms, std::nullopt, {},
                                                "capacity probe failed: " + why));
          return;
        }
      }
      resolve_rates(items, spec_.name, sc.name, *probe_rps);
    }
    if (!warmed_up && s_.warmup_s > 0) warm_up(sc);
    for (const auto& pm : items) {
      measure_and_record(sc, identity_of(sc, pm, false, probe_rps));
      o_.progress_.advance();
    }
    if (search_steps && !o_.doc_.capacity(spec_.name, sc.name)) search(sc, *search_steps, probe_rps);
  }

  void warm_up(const scenario& sc) {
    // Closed loop: the highest level. Open loop: closed loop at the probe's connections, so
    // the warm-up never overloads the server the way the sweep's highest rate may.
    const bool open = sc.is_open();
    const int connections = open ? sc.probe.connections : sc.connections.back();
    o_.progress_.step(spec_.name + " " + sc.name + ": warm-up c=" + std::to_string(connections),
                      s_.warmup_s + step_overhead_s);
    measurement_key key{spec_.name, sc.name, "closed", connections, sc.pipeline, block_.repetition, 0};
    load_generator* generator = open || sc.generator == "wrk" ? o_.settings_.wrk : o_.settings_.lab_load;
    generator->load_only(request_for(o_.settings_, sc, key, server_->port(), s_.warmup_s,
                                     stem_ + "-" + sc.name + "-warmup"),
                         s_.warmup_s);
  }

  // The closed-loop capacity probe; records it and returns its req/s, or nullopt with `why`.
  std::optional<double> run_probe(const scenario& sc, std::string& why) {
    o_.progress_.step(spec_.name + " " + sc.name + ": capacity probe c=" + std::to_string(sc.probe.connections),
                      sc.probe.duration_s + step_overhead_s);
    measurement_key key{spec_.name, sc.name, "closed", sc.probe.connections, 1, block_.repetition, 0};
    json probe = {{"server", spec_.name},
                  {"scenario", sc.name},
                  {"path", sc.path},
                  {"generator", "wrk"},
                  {"connections", sc.probe.connections},
                  {"duration_s", sc.probe.duration_s},
                  {"repetition", block_.repetition},
                  {"requests_per_s", nullptr}};
    std::optional<double> rps;
    try {
      auto r = o_.settings_.wrk->run(request_for(o_.settings_, sc, key, server_->port(),
                                                 sc.probe.duration_s, spec_.name + "-" + sc.name + "-probe"));
      flag_inputs in;
      in.client_utilization =
          r.wall_s > 0 ? r.client_cpu_s / (r.wall_s * std::max<size_t>(1, o_.settings_.client_cpus.size())) : 0;
      in.errors = r.errors.total();
      probe["requests_per_s"] = r.achieved_rps;
      probe["latency_p99_us"] = r.latency.p99;
      probe["errors"] = r.errors.total();
      probe["flags"] = measurement_flags(in);
      if (r.responses == 0) why = "no responses in " + std::to_string(sc.probe.duration_s) + " s";
      else rps = r.achieved_rps;
    } catch (const std::exception& e) {
      why = e.what();
    }
    if (server_ && !server_->running()) {
      why = "server died during the capacity probe (" + server_->death_report() + ")";
      rps.reset();
    }
    probe["status"] = rps ? "ok" : "failed";
    probe["reason"] = rps ? json(nullptr) : json(why);
    o_.doc_.add_probe(probe);
    if (!rps) ++failures_;
    return rps;
  }

  // Waits, up to settle_limit, until the server has worked off what the previous load left
  // behind: its CPU under 10 % of one core over 50 ms and, with a downstream, no call in
  // flight there. Without it the first level after a warm-up at the highest level inherits
  // that level's backlog (a thread-per-call server with 256 connections × 16 calls queued
  // measured p99 of seconds at its lowest level). An idle server costs one 50 ms window.
  void settle(const scenario& sc) {
    using namespace std::chrono;
    constexpr auto window = milliseconds(50);
    constexpr auto settle_limit = seconds(5);
    const auto start = steady_clock::now();
    auto cpu_s = [&] {
      const auto p = sample_process_group(server_->pid());
      return p.utime_s + p.stime_s;
    };
    while (steady_clock::now() - start < settle_limit) {
      const double before = cpu_s();
      std::this_thread::sleep_for(window);
      const bool cpu_idle = cpu_s() - before < 0.1 * duration<double>(window).count();
      bool calls_done = true;
      if (sc.downstream && downstream_) {
        try {
          calls_done = downstream_->stats(seconds(1)).in_flight == 0;
        } catch (const std::exception&) {
          // The measurement reads /stats too and records a failure there.
        }
      }
      if (cpu_idle && calls_done) return;
    }
    o_.progress_.note(spec_.name + " " + sc.name + ": still busy after " +
                      std::to_string(settle_limit.count()) + " s from the previous load; measuring anyway");
  }

  // One measurement; records it. Returns the record.
  json measure_and_record(const scenario& sc, const measurement_identity& id) {
    const double seconds = measurement_seconds(s_, sc);
    o_.progress_.step(id.key.describe() + (id.search_step ? " (capacity search)" : ""),
                      seconds + step_overhead_s);
    if (!ensure_started()) {
      record_failed(id, "server not ready: " + start_failure_, false);
      return nullptr;
    }
    load_generator* generator = sc.generator == "lab_load" ? o_.settings_.lab_load : o_.settings_.wrk;
    if (!generator) {
      record_failed(id, "no " + sc.generator + " generator", false);
      return nullptr;
    }
    settle(sc);
    const auto request = request_for(o_.settings_, sc, id.key, server_->port(), seconds,
                                     log_stem_of(id.key));
    // A scenario with a downstream: its counters before and its CPU during the measurement.
    const bool with_downstream = sc.downstream && downstream_;
    std::optional<downstream_stats> downstream_before;
    std::optional<group_sampler> downstream_sampler;
    std::unique_ptr<usage_sampler> downstream_remote;
    if (with_downstream) {
      try {
        downstream_before = downstream_->stats();
      } catch (const std::exception& e) {
        record_failed(id, std::string("downstream GET /stats before the measurement: ") + e.what(), false);
        return nullptr;
      }
      if (settings().remote_sampler) downstream_remote = settings().remote_sampler(downstream_->process());
      if (downstream_remote) downstream_remote->start();
      else downstream_sampler.emplace(downstream_->pid());
      if (downstream_sampler) downstream_sampler->start();
    }
    // The machine and the server's logs around the load: steal, other processes, GC pauses.
    measurement_noise_probe noise(server_->process().stderr_path());
    std::optional<canary_run> finished;
    std::string failure;
    auto load = [&] {
      try {
        // The canary joins once the generator's connections are established (~20 % into the
        // run) and waits for answers until it ends: it catches connections the server never
        // serves, which no generator counts as errors.
        finished = run_with_canary(*generator, request, settings().launch.host, server_->port(), sc.path);
      } catch (const std::exception& e) {
        failure = e.what();
      }
    };
    std::vector<timed_sample> samples;
    std::unique_ptr<usage_sampler> remote;
    if (settings().remote_sampler) remote = settings().remote_sampler(server_->process());
    if (remote) {
      remote->start();
      load();
      samples = remote->stop();
    } else {
      group_sampler sampler(server_->pid());
      sampler.start();
      load();
      samples = sampler.stop();
    }
    std::optional<downstream_usage> downstream;
    std::string downstream_failure;
    if (with_downstream) {
      auto downstream_samples = downstream_remote ? downstream_remote->stop() : downstream_sampler->stop();
      try {
        const auto after = downstream_->stats();
        downstream_usage u;
        u.delay = downstream_->config().delay;
        u.threads = downstream_->config().threads;
        u.cpus = static_cast<int>(std::min<size_t>(std::max(1, u.threads),
                                                   std::max<size_t>(1, settings().client_cpus.size())));
        add_samples(u, downstream_samples);
        u.calls = after.served >= downstream_before->served ? after.served - downstream_before->served : 0;
        u.cancelled = after.cancelled >= downstream_before->cancelled
                          ? after.cancelled - downstream_before->cancelled : 0;
        u.in_flight_after = after.in_flight;
        downstream = u;
      } catch (const std::exception& e) {
        downstream_failure = e.what();
      }
    }
    if (!server_->running()) {
      record_failed(id, "server died during the measurement (" + server_->death_report() + ")", true);
      return nullptr;
    }
    if (!finished) {
      record_failed(id, failure, false);
      return nullptr;
    }
    if (with_downstream && !downstream) {
      // The server is fine; the downstream is not: restart both for the next measurement.
      const std::string why = downstream_->running()
                                  ? "downstream GET /stats after the measurement: " + downstream_failure
                                  : "the downstream died during the measurement (" +
                                        downstream_->stop().describe() + "; " + downstream_->stderr_tail(400) + ")";
      record_failed(id, why, false);
      return nullptr;
    }
    measurement m;
    m.identity = id;
    m.load = finished->load;
    m.canary = finished->canary;
    m.starved = finished->starved;
    m.server = usage_from_samples(samples);
    m.client_cpus = settings().client_cpus.size();
    m.downstream = downstream;
    m.machine = noise.machine(m.server.cpu_user_s + m.server.cpu_sys_s + m.load.client_cpu_s +
                              (downstream ? downstream->cpu_s : 0));
    m.server.gc = noise.gc_pauses_of(spec_.language, server_->process().command());
    json record = m.to_json(o_.doc_.folder());
    o_.doc_.add_measurement(record);
    return record;
  }

  // Bisection between the last passing and the first failing rate of repetition 0's points.
  void search(const scenario& sc, int steps, std::optional<double> probe_rps) {
    std::vector<capacity_point> points;
    int steps_done = 0;
    for (const json* m : o_.doc_.measurements_of(spec_.name, sc.name, 0)) {
      if ((*m).value("load", "closed") != "open") continue;
      points.push_back(capacity_point_of(*m, *sc.slo_p99_ms));
      if (points.back().search_step) ++steps_done;
    }
    while (auto rate = next_search_rate(points, steps_done, steps)) {
      ++steps_done;
      planned_measurement pm;
      pm.key = {spec_.name, sc.name, "open", sc.connection_cap(), 1, 0, *rate};
      json record = measure_and_record(sc, identity_of(sc, pm, true, probe_rps));
      o_.progress_.advance();
      if (record.is_object()) points.push_back(capacity_point_of(record, *sc.slo_p99_ms));
    }
    o_.doc_.add_capacity(capacity_entry(spec_.name, sc.name, *sc.slo_p99_ms, probe_rps, points,
                                        start_failure_.empty() ? "" : "server not ready: " + start_failure_));
  }

  void note_unclean_stop(const server_exit& exit) {
    json& entry = o_.doc_.server_entry(spec_.name);
    if (!entry.contains("unclean_stops")) entry["unclean_stops"] = json::array();
    entry["unclean_stops"].push_back({{"repetition", block_.repetition}, {"exit", exit.describe()}});
    o_.doc_.save();
    o_.progress_.note(spec_.name + ": did not stop cleanly after its measurements: " + exit.describe());
  }

  const block_settings& settings() const { return o_.settings_; }

  block_runner& o_;
  const suite& s_;
  const server_spec& spec_;
  planned_block block_;
  std::string stem_;
  std::optional<launched_server> server_;
  std::optional<running_downstream> downstream_;
  std::optional<downstream_config> wanted_downstream_;  // what the next start needs
  std::optional<downstream_config> server_downstream_;  // what the running server was given
  std::string start_failure_;  // once a start fails, the block's other measurements fail fast
  int failures_ = 0;
};

int block_runner::run(const server_spec& spec, planned_block block) {
  session s(*this, spec, std::move(block));
  return s.run();
}

}  // namespace lab
