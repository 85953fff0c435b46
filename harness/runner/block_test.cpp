// One block against a real event_loop: start, primer, closed-loop levels with real wrk, the
// capacity probe (real wrk), the open-loop sweep at fractions of it and the capacity search —
// with a stand-in open-loop generator whose p99 crosses the SLO at a known rate, so the
// bisection's path is known — and, when lab_load is built, one real open-loop point.
#include "block.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <thread>

#include "context.h"
#include "lab_load_generator.h"
#include "registry.h"
#include "test_support.h"
#include "wrk.h"

namespace fs = std::filesystem;
using nlohmann::json;
using namespace lab::testing;

namespace {

// Answers as a server whose p99 is 2 ms up to `knee` x (the first rate it is asked for) and
// 50 ms above (the first sweep rate is 0.25 of the probe, so the knee is a fraction of it).
class stand_in_open_loop : public lab::load_generator {
 public:
  explicit stand_in_open_loop(double knee) : knee_(knee) {}
  std::string name() const override { return "lab_load"; }
  lab::load_result run(const lab::load_request& request) override {
    if (!first_rate_) first_rate_ = request.level.rate;
    rates_.push_back(request.level.rate);
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(request.duration_s * 1000)));
    const bool fast = request.level.rate <= knee_ * *first_rate_;
    lab::load_result r;
    r.generator = "lab_load";
    r.duration_s = request.duration_s;
    r.offered_rate_rps = request.level.rate;
    r.achieved_rps = request.level.rate;
    r.requests = r.responses = static_cast<uint64_t>(request.level.rate * request.duration_s);
    r.latency = {500, 900, fast ? 2000.0 : 50000.0, 60000, 70000, 600, std::nullopt, 65000.0, std::nullopt};
    r.send_lag = lab::send_lag_summary{2, 30, 400};
    r.wall_s = request.duration_s;
    r.client_cpu_s = 0.1;
    return r;
  }
  void load_only(const lab::load_request&, double) override {}
  std::vector<double> rates_;

 private:
  double knee_;
  std::optional<double> first_rate_;
};

lab::server_spec event_loop_spec() {
  for (const auto& s : lab::load_registry(root()))
    if (s.name == "event_loop") return s;
  throw std::runtime_error("no event_loop in the registry");
}

json document_for(const lab::server_spec& spec, const lab::suite& s) {
  json doc = minimal_doc();
  doc["suite"] = lab::suite_to_json(s);
  doc["servers"] = {{{"name", spec.name}, {"model", spec.model}, {"language", spec.language},
                     {"reference", false}, {"status", "ok"}, {"reason", nullptr}}};
  return doc;
}

lab::block_settings settings_for(const fs::path& dir, const lab::suite& s) {
  lab::block_settings b;
  b.run_suite = &s;
  b.launch.bin = bin();
  b.launch.root = root();
  b.launch.cpus = {0};
  b.launch.logs = dir / "logs";
  b.launch.tmp_root = dir / "tmp";
  b.client_cpus = {lab::online_cpus() > 1 ? 1 : 0};
  return b;
}

}  // namespace

TEST(RunnerBlock, RequestsAndLogStemsOfALevel) {
  lab::suite s;
  s.timeout_s = 5;
  lab::block_settings b;
  b.run_suite = &s;
  b.launch.logs = "/run/logs";
  b.client_cpus = {1};
  lab::scenario sc;
  sc.name = "lat";
  sc.path = "/sleep?ms=10";
  lab::measurement_key open{"a", "lat", "open", 1024, 1, 0, 2500};
  auto r = lab::request_for(b, sc, open, 4242, 2, lab::log_stem_of(open));
  EXPECT_EQ(r.url, "http://127.0.0.1:4242/sleep?ms=10");
  EXPECT_TRUE(r.level.open);
  EXPECT_EQ(r.level.rate, 2500);
  EXPECT_EQ(r.level.connections, 1024);
  EXPECT_EQ(r.cpus, std::vector<int>{1});
  EXPECT_EQ(r.threads, 1);
  EXPECT_EQ(r.timeout_s, 5);
  EXPECT_EQ(r.log_stem, "a-lat-rate2500-r0");
  lab::measurement_key closed{"a", "plaintext", "closed", 256, 1, 2, 0};
  sc.wrk_threads = 2;
  r = lab::request_for(b, sc, closed, 4242, 2, lab::log_stem_of(closed));
  EXPECT_FALSE(r.level.open);
  EXPECT_EQ(r.level.connections, 256);
  EXPECT_EQ(r.threads, 2);
  EXPECT_EQ(r.log_stem, "a-plaintext-c256-r2");
}

TEST(RunnerBlock, ClosedLevelsProbeSweepAndCapacitySearchOnEventLoop) {
  if (!fs::exists(bin() / "event_loop")) GTEST_SKIP() << "event_loop not built in " << bin();
  auto dir = temp_dir("block", "runner_e2e");
  lab::suite s;
  s.name = "block";
  s.duration_s = 1;
  s.warmup_s = 0.2;
  s.primer_s = 0.2;
  s.startup_runs = 0;
  lab::scenario closed;
  closed.name = "plaintext";
  closed.path = "/plaintext";
  closed.connections = {4};
  closed.generator = "wrk";
  lab::scenario open;
  open.name = "plaintext_latency";
  open.path = "/plaintext";
  open.load = lab::load_kind::open;
  open.generator = "lab_load";
  open.rate_fractions = {0.25, 0.5, 0.75, 1.0};
  open.slo_p99_ms = 10;
  open.capacity_search_steps = 3;
  open.probe = {8, 1};
  s.scenarios = {closed, open};
  const auto spec = event_loop_spec();
  lab::run_document doc(document_for(spec, s), dir);
  std::ostringstream progress_text;
  lab::progress progress(progress_text, false);
  lab::wrk_generator wrk(root() / "harness" / "runner" / "report.lua");
  stand_in_open_loop stand_in(2.4);  // p99 crosses 10 ms at 0.6 of the probe
  auto settings = settings_for(dir, s);
  settings.wrk = &wrk;
  settings.lab_load = &stand_in;
  lab::block_runner runner(settings, doc, progress);
  auto plan = lab::plan_run(s, {"event_loop"}, 1);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(runner.run(spec, plan[0]), 0) << progress_text.str();

  const json& d = doc.doc();
  EXPECT_EQ(lab::validate_service_results(d), std::vector<std::string>{});
  ASSERT_EQ(d["probes"].size(), 1u);
  const auto& probe = d["probes"][0];
  EXPECT_EQ(probe["status"], "ok") << probe.dump();
  const double p = probe["requests_per_s"].get<double>();
  EXPECT_GT(p, 100);  // event_loop answers thousands per second even on a busy machine
  EXPECT_TRUE(fs::exists(dir / "logs" / "event_loop-plaintext_latency-probe.wrk.json"));

  // 1 closed level + 4 sweep points + 3 search steps.
  ASSERT_EQ(d["measurements"].size(), 8u) << d["measurements"].dump(1);
  const auto& c = d["measurements"][0];
  EXPECT_EQ(c["load"], "closed");
  EXPECT_EQ(c["generator"], "wrk");
  EXPECT_GT(c["requests"].get<double>(), 100);
  EXPECT_GT(c["server_stats"]["rss_peak_kb"].get<double>(), 0);
  std::vector<double> sweep, search;
  for (size_t i = 1; i < d["measurements"].size(); ++i) {
    const auto& m = d["measurements"][i];
    EXPECT_EQ(m["status"], "ok") << m.dump();
    EXPECT_EQ(m["load"], "open");
    EXPECT_EQ(m["generator"], "lab_load");
    EXPECT_EQ(m["connections"], lab::default_open_connection_cap);
    (m.value("search_step", false) ? search : sweep).push_back(m["rate"].get<double>());
    EXPECT_TRUE(m.contains("send_lag_us"));
    EXPECT_GE(m["canary"]["requests_sent"].get<int>(), 1);  // the canary watched this one too
  }
  ASSERT_EQ(sweep.size(), 4u);
  for (size_t i = 0; i < 4; ++i)
    EXPECT_EQ(sweep[i], std::max(1.0, std::round(std::vector<double>{0.25, 0.5, 0.75, 1.0}[i] * p)));
  EXPECT_EQ(d["measurements"][1]["rate_fraction"], 0.25);
  // Passing 0.25 and 0.5, failing 0.75: bisect 0.625 (fail), 0.5625 (pass), 0.59375 (pass).
  ASSERT_EQ(search.size(), 3u);
  const double lo = sweep[1], hi = sweep[2];
  const double s1 = std::round((lo + hi) / 2), s2 = std::round((lo + s1) / 2), s3 = std::round((s2 + s1) / 2);
  EXPECT_EQ(search, (std::vector<double>{s1, s2, s3}));
  ASSERT_EQ(d["capacity"].size(), 1u);
  const auto& cap = d["capacity"][0];
  EXPECT_EQ(cap["status"], "ok") << cap.dump();
  EXPECT_EQ(cap["capacity_rps"], s3);
  EXPECT_EQ(cap["first_failing_rps"], s1);
  EXPECT_EQ(cap["probe_rps"], p);
  EXPECT_EQ(cap["points"].size(), 7u);
  // Aggregates hold the closed level and the 4 sweep points, not the search steps.
  EXPECT_EQ(d["aggregates"].size(), 5u);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir / "tmp"), fs::directory_iterator()), 0);

  // A second repetition reuses the recorded probe (no second probe) and runs no search.
  s.repetitions = 2;
  plan = lab::plan_run(s, {"event_loop"}, 1);
  lab::resolve_rates(plan, lab::recorded_probes(d));
  auto left = lab::remaining_blocks(plan, lab::finished_measurements(d), {{"event_loop", "plaintext_latency"}});
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].repetition, 1);
  s.scenarios.erase(s.scenarios.begin());  // keep the test short: the open scenario only
  std::erase_if(left[0].measurements, [](const auto& m) { return m.key.scenario == "plaintext"; });
  left[0].measurements.resize(1);
  stand_in.rates_.clear();
  EXPECT_EQ(runner.run(spec, left[0]), 0) << progress_text.str();
  EXPECT_EQ(d["probes"].size(), 1u);
  EXPECT_EQ(stand_in.rates_, std::vector<double>{sweep[0]});
  EXPECT_EQ(d["capacity"].size(), 1u);
  EXPECT_EQ(d["measurements"].back()["repetition"], 1);
  fs::remove_all(dir);
}

TEST(RunnerBlock, RealLabLoadOpenLoopPoint) {
  if (!fs::exists(bin() / "event_loop")) GTEST_SKIP() << "event_loop not built in " << bin();
  if (!fs::exists(bin() / "lab_load")) GTEST_SKIP() << "lab_load not built in " << bin();
  auto dir = temp_dir("block_lab_load", "runner_e2e");
  lab::suite s;
  s.name = "open";
  s.duration_s = 1;
  s.warmup_s = 0;
  s.primer_s = 0;
  s.startup_runs = 0;
  lab::scenario open;
  open.name = "plaintext_latency";
  open.path = "/plaintext";
  open.load = lab::load_kind::open;
  open.generator = "lab_load";
  open.rates = {500};
  open.connections = {16};
  s.scenarios = {open};
  const auto spec = event_loop_spec();
  lab::run_document doc(document_for(spec, s), dir);
  std::ostringstream progress_text;
  lab::progress progress(progress_text, false);
  lab::wrk_generator wrk(root() / "harness" / "runner" / "report.lua");
  lab::lab_load_generator lab_load(bin() / "lab_load");
  auto settings = settings_for(dir, s);
  settings.wrk = &wrk;
  settings.lab_load = &lab_load;
  lab::block_runner runner(settings, doc, progress);
  EXPECT_EQ(runner.run(spec, lab::plan_run(s, {"event_loop"}, 1)[0]), 0) << progress_text.str();
  const json& d = doc.doc();
  EXPECT_EQ(lab::validate_service_results(d), std::vector<std::string>{});
  ASSERT_EQ(d["measurements"].size(), 1u);
  const auto& m = d["measurements"][0];
  ASSERT_EQ(m["status"], "ok") << m.dump();
  EXPECT_EQ(m["offered_rate_rps"], 500.0);
  // 500 req/s of /plaintext is nothing for event_loop: served on schedule, well under 1 s.
  EXPECT_GT(m["requests_per_s"].get<double>(), 400);
  EXPECT_LT(m["latency_us"]["p99"].get<double>(), 1e6);
  EXPECT_LE(m["latency_us"]["p99"].get<double>(), m["latency_us"]["max"].get<double>());
  EXPECT_LE(m["connections_opened"].get<int>(), 16);
  EXPECT_TRUE(fs::exists(dir / m["histogram_file"].get<std::string>())) << m["histogram_file"];
  fs::remove_all(dir);
}

// A block of three scenarios on event_loop with the real downstream: /plaintext without one,
// then /gateway with the fixed profile (the first start already names it: one start for both),
// then the tail profile (a second downstream, so a second start). Each gateway measurement
// records the downstream's deltas; fan-out 4 costs about 4 calls per request.
TEST(RunnerBlock, GatewayMeasurementsWithALiveDownstream) {
  if (!fs::exists(bin() / "event_loop")) GTEST_SKIP() << "event_loop not built in " << bin();
  if (!fs::exists(bin() / "downstream")) GTEST_SKIP() << "downstream not built in " << bin();
  auto dir = temp_dir("block_gateway", "runner_e2e");
  lab::suite s;
  s.name = "gw";
  s.duration_s = 1;
  s.warmup_s = 0.2;
  s.primer_s = 0;
  s.startup_runs = 0;
  lab::scenario plain;
  plain.name = "plaintext";
  plain.path = "/plaintext";
  plain.connections = {4};
  plain.generator = "wrk";
  lab::scenario fan = plain;
  fan.name = "fanout4";
  fan.path = "/gateway?fanout=4&ms=10&mode=parallel";
  fan.connections = {16};
  fan.downstream = lab::downstream_config{};
  lab::scenario tail = fan;
  tail.name = "tail";
  tail.path = "/gateway?fanout=2&ms=1&mode=sequential";
  tail.connections = {4};
  tail.downstream = lab::downstream_config{"tail:0.5:5", 1};
  s.scenarios = {plain, fan, tail};
  const auto spec = event_loop_spec();
  lab::run_document doc(document_for(spec, s), dir);
  std::ostringstream progress_text;
  lab::progress progress(progress_text, false);
  lab::wrk_generator wrk(root() / "harness" / "runner" / "report.lua");
  auto settings = settings_for(dir, s);
  settings.wrk = &wrk;
  lab::block_runner runner(settings, doc, progress);
  EXPECT_EQ(runner.run(spec, lab::plan_run(s, {"event_loop"}, 1)[0]), 0) << progress_text.str();
  EXPECT_EQ(lab::live_child_count(), 0u);  // servers and downstreams all stopped and reaped

  const json& d = doc.doc();
  EXPECT_EQ(lab::validate_service_results(d), std::vector<std::string>{});
  ASSERT_EQ(d["measurements"].size(), 3u);
  for (const auto& m : d["measurements"]) ASSERT_EQ(m["status"], "ok") << m.dump();
  EXPECT_FALSE(d["measurements"][0].contains("downstream"));
  const auto& g = d["measurements"][1];
  EXPECT_EQ(g["errors"]["status"], 0) << g.dump();
  ASSERT_TRUE(g.contains("downstream")) << g.dump();
  const auto& ds = g["downstream"];
  EXPECT_EQ(ds["delay"], "fixed");
  EXPECT_EQ(ds["threads"], 1);
  // 16 connections of 10 ms calls: hundreds of requests even on a busy machine. The calls in
  // flight at either end of the window (at most 16 x 4) blur the ratio a little.
  ASSERT_GT(g["requests"].get<double>(), 50) << g.dump();
  EXPECT_NEAR(ds["calls_per_request"].get<double>(), 4.0, 0.6) << ds.dump();
  EXPECT_GE(ds["calls"].get<double>(), 3.4 * g["requests"].get<double>());
  EXPECT_GT(ds["cpu_s"].get<double>(), 0);
  EXPECT_LT(ds["cpu_utilization"].get<double>(), 1.5);
  EXPECT_EQ(ds["cancelled"], 0);  // no deadlines: nobody gives up on a call
  EXPECT_LE(ds["in_flight_after"].get<int>(), 16 * 4);
  const auto& t = d["measurements"][2];
  ASSERT_TRUE(t.contains("downstream")) << t.dump();
  EXPECT_EQ(t["downstream"]["delay"], "tail:0.5:5");
  EXPECT_NEAR(t["downstream"]["calls_per_request"].get<double>(), 2.0, 0.5) << t["downstream"].dump();
  // One start for plaintext and the fixed downstream, a second for the tail profile.
  std::vector<std::string> downstream_logs;
  for (const auto& f : fs::directory_iterator(dir / "logs"))
    if (f.path().extension() == ".stdout" && f.path().stem().string().ends_with("-downstream"))
      downstream_logs.push_back(f.path().filename().string());
  std::sort(downstream_logs.begin(), downstream_logs.end());
  EXPECT_EQ(downstream_logs, (std::vector<std::string>{"event_loop-rep0-0-downstream.stdout",
                                                       "event_loop-rep0-1-downstream.stdout"}));
  EXPECT_NE(read_file(dir / "logs" / "event_loop-rep0-0-downstream.stdout").find("(downstream, 1 thread"),
            std::string::npos);
  EXPECT_FALSE(d["servers"][0].contains("unclean_stops")) << d["servers"][0].dump();
  fs::remove_all(dir);
}
