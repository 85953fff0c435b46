// Planning: seeded interleaving, open-loop levels (absolute, and fractions resolved from a
// probe), capacity searches in repetition 0, what --resume still has to do, the estimate's
// arithmetic (with a restart where the downstream changes), server selection and the loopback rule.
#include "plan.h"

#include <gtest/gtest.h>

#include "results.h"
#include "test_support.h"

using nlohmann::json;
using namespace lab::testing;

namespace {

lab::scenario closed(const std::string& name, std::vector<int> connections) {
  lab::scenario sc;
  sc.name = name;
  sc.path = "/" + name;
  sc.connections = std::move(connections);
  sc.generator = "wrk";
  return sc;
}

lab::scenario open_fractions(const std::string& name, std::vector<double> fractions, int steps) {
  lab::scenario sc;
  sc.name = name;
  sc.path = "/plaintext";
  sc.load = lab::load_kind::open;
  sc.generator = "lab_load";
  sc.rate_fractions = std::move(fractions);
  sc.slo_p99_ms = 10;
  sc.capacity_search_steps = steps;
  return sc;
}

}  // namespace

TEST(RunnerResume, RedoesOnlyUnfinishedMeasurements) {
  lab::suite s;
  s.name = "t";
  s.repetitions = 2;
  s.scenarios = {closed("plaintext", {16, 256}), closed("json", {16})};
  auto plan = lab::plan_run(s, {"a", "b", "c"}, 42);
  ASSERT_EQ(plan.size(), 6u);  // 2 repetitions x 3 servers
  EXPECT_EQ(plan[0].measurements.size(), 3u);
  // Each repetition holds every server once.
  for (int rep = 0; rep < 2; ++rep) {
    std::set<std::string> names;
    for (int i = 0; i < 3; ++i) {
      EXPECT_EQ(plan[rep * 3 + i].repetition, rep);
      names.insert(plan[rep * 3 + i].server);
    }
    EXPECT_EQ(names.size(), 3u);
  }
  // Same seed, same order; the order is recorded by the seed alone.
  auto again = lab::plan_run(s, {"a", "b", "c"}, 42);
  for (size_t i = 0; i < plan.size(); ++i) EXPECT_EQ(plan[i].server, again[i].server);
  bool differs = false;
  for (unsigned long long seed = 1; seed < 20 && !differs; ++seed) {
    auto other = lab::plan_run(s, {"a", "b", "c"}, seed);
    for (size_t i = 0; i < plan.size(); ++i) differs = differs || other[i].server != plan[i].server;
  }
  EXPECT_TRUE(differs) << "the seed must change the order";

  // A run killed after two measurements (one failed) of the first block.
  json doc = minimal_doc();
  auto m0 = closed_measurement(plan[0].server, 16, 0, 100);
  auto m1 = closed_measurement(plan[0].server, 256, 0, 100, "failed");
  doc["measurements"] = json::array({m0, m1});
  lab::drop_unfinished(doc);
  EXPECT_EQ(doc["measurements"].size(), 1u);
  auto finished = lab::finished_measurements(doc);
  ASSERT_EQ(finished.size(), 1u);
  auto left = lab::remaining_blocks(plan, finished);
  ASSERT_EQ(left.size(), 6u);
  EXPECT_EQ(left[0].server, plan[0].server);
  ASSERT_EQ(left[0].measurements.size(), 2u);
  EXPECT_EQ(left[0].measurements[0].key.connections, 256);
  EXPECT_EQ(left[0].measurements[1].key.scenario, "json");
  // Finish the whole first block: it disappears.
  for (const auto& m : plan[0].measurements) finished.insert(m.key);
  left = lab::remaining_blocks(plan, finished);
  EXPECT_EQ(left.size(), 5u);
  EXPECT_EQ(left[0].server, plan[1].server);
}

TEST(RunnerPlan, OpenLoopLevelsAndCapacitySearchInRepetitionZero) {
  lab::suite s;
  s.name = "t";
  s.repetitions = 2;
  auto absolute = open_fractions("abs", {}, 0);
  absolute.rates = {1000, 2500.4};
  absolute.slo_p99_ms.reset();
  absolute.connections = {64};
  s.scenarios = {open_fractions("lat", {0.25, 1.1}, 3), absolute};
  auto plan = lab::plan_run(s, {"a"}, 1);
  ASSERT_EQ(plan.size(), 2u);
  const auto& block = plan[0];
  ASSERT_EQ(block.measurements.size(), 4u);
  EXPECT_EQ(block.measurements[0].key.load, "open");
  EXPECT_EQ(block.measurements[0].key.connections, lab::default_open_connection_cap);
  EXPECT_EQ(block.measurements[0].rate_fraction, 0.25);
  EXPECT_FALSE(block.measurements[0].resolved());  // waits for the probe
  EXPECT_TRUE(block.measurements[2].resolved());
  EXPECT_EQ(block.measurements[2].key.rate, 1000);
  EXPECT_EQ(block.measurements[3].key.rate, 2500);  // whole req/s
  EXPECT_EQ(block.measurements[3].key.connections, 64);
  ASSERT_EQ(block.searches.size(), 1u);  // only the scenario with an SLO
  EXPECT_EQ(block.searches[0], (std::pair<std::string, int>{"lat", 3}));
  EXPECT_TRUE(plan[1].searches.empty());  // the search runs once, on repetition 0's points
  EXPECT_EQ(lab::probes_needed(plan), (std::set<std::pair<std::string, std::string>>{{"a", "lat"}}));

  lab::resolve_rates(plan[0].measurements, "a", "lat", 40001);
  EXPECT_EQ(plan[0].measurements[0].key.rate, 10000);  // 0.25 x 40001, rounded
  EXPECT_EQ(plan[0].measurements[1].key.rate, 44001);
  EXPECT_EQ(plan[0].measurements[2].key.rate, 1000);   // absolute rates untouched
  EXPECT_EQ(lab::rate_from_fraction(0.1, 3), 1);       // never 0
}

TEST(RunnerPlan, RemainingBlocksKeepUnresolvedLevelsAndPendingSearches) {
  lab::suite s;
  s.name = "t";
  s.scenarios = {open_fractions("lat", {0.5, 1.0}, 2)};
  auto plan = lab::plan_run(s, {"a"}, 1);
  // Nothing recorded: everything left, the probe too.
  auto left = lab::remaining_blocks(plan, {});
  ASSERT_EQ(left.size(), 1u);
  EXPECT_EQ(left[0].measurements.size(), 2u);
  EXPECT_EQ(left[0].searches.size(), 1u);
  // The sweep is done (its rates resolved from the recorded probe), the search is not: the
  // block stays for the search alone.
  lab::resolve_rates(plan[0].measurements, "a", "lat", 10000);
  std::set<lab::measurement_key> finished;
  for (const auto& m : plan[0].measurements) finished.insert(m.key);
  left = lab::remaining_blocks(plan, finished);
  ASSERT_EQ(left.size(), 1u);
  EXPECT_TRUE(left[0].measurements.empty());
  EXPECT_EQ(left[0].searches.size(), 1u);
  EXPECT_TRUE(lab::probes_needed(left).empty());
  // The same from a fresh plan and the probes recorded in results.json (--resume).
  auto fresh = lab::plan_run(s, {"a"}, 1);
  lab::resolve_rates(fresh, {{{"a", "lat"}, 10000.0}, {{"b", "lat"}, 1.0}});
  EXPECT_EQ(fresh[0].measurements[0].key, plan[0].measurements[0].key);
  EXPECT_EQ(lab::remaining_blocks(fresh, finished)[0].measurements.size(), 0u);
  // Capacity recorded: nothing left.
  EXPECT_TRUE(lab::remaining_blocks(plan, finished, {{"a", "lat"}}).empty());
}

TEST(RunnerPlan, VerificationsOverlapInWaves) {
  EXPECT_EQ(lab::verify_seconds(0, 4), 0);
  EXPECT_EQ(lab::verify_seconds(1, 4), lab::verify_alone_s);
  EXPECT_EQ(lab::verify_seconds(3, 1), 3 * lab::verify_alone_s);
  // 12 servers 4 at a time: 3 waves of 4.
  EXPECT_EQ(lab::verify_seconds(12, 4), 3 * (lab::verify_alone_s + 3 * lab::verify_extra_per_job_s));
  EXPECT_EQ(lab::verify_seconds(5, 4), lab::verify_alone_s + 3 * lab::verify_extra_per_job_s + lab::verify_alone_s);
}

TEST(RunnerPlan, EstimateIsTheDocumentedArithmetic) {
  lab::suite s;
  s.name = "t";
  s.duration_s = 2;
  s.warmup_s = 0.5;
  s.primer_s = 0.3;
  s.startup_runs = 4;
  s.scenarios = {closed("plaintext", {16, 256})};
  auto plan = lab::plan_run(s, {"a", "b"}, 1);
  // Per block: start 0.5 + primer 0.3 + 0.3, 2 x (2 + 0.3), warm-up 0.5 + 0.3 = 6.5 s.
  const double blocks = 2 * (0.5 + 0.3 + 0.3 + 2 * 2.3 + 0.8);
  EXPECT_NEAR(lab::estimate_seconds(s, plan, 0, 0), blocks, 1e-9);
  EXPECT_NEAR(lab::estimate_seconds(s, plan, 2, 2, 1), blocks + 2 * 11 + 2 * 4 * 0.25, 1e-9);
  // A scenario may ask for shorter measurements than the suite's.
  s.scenarios[0].duration_s = 1;
  EXPECT_NEAR(lab::estimate_seconds(s, plan, 0, 0), blocks - 2 * 2 * 1.0, 1e-9);
  s.scenarios[0].duration_s = 5;  // never longer
  EXPECT_NEAR(lab::estimate_seconds(s, plan, 0, 0), blocks, 1e-9);
  // Open loop: the probe replaces the warm-up in the first block; search steps count fully.
  s.scenarios = {open_fractions("lat", {0.5, 1.0}, 3)};
  s.scenarios[0].probe = {64, 2};
  s.repetitions = 2;
  plan = lab::plan_run(s, {"a"}, 1);
  const double rep0 = 1.1 + 2 * 2.3 + 3 * 2.3 + (2 + 0.3);
  const double rep1 = 1.1 + 2 * 2.3 + 0.8;
  EXPECT_NEAR(lab::estimate_seconds(s, plan, 0, 0), rep0 + rep1, 1e-9);
}

TEST(RunnerPlan, EstimateCountsARestartWhenTheDownstreamChanges) {
  lab::suite s;
  s.name = "gw";
  s.duration_s = 2;
  s.warmup_s = 0.5;
  s.primer_s = 0.3;
  s.startup_runs = 0;
  auto fixed = closed("fan", {16});
  fixed.downstream = lab::downstream_config{};
  auto tail = closed("tail", {16});
  tail.downstream = lab::downstream_config{"tail:0.01:100", 1};
  auto plain = closed("plaintext", {16});
  // Per scenario 2.3 + warm-up 0.8; per block one start and primer (1.1).
  s.scenarios = {plain, fixed, closed("json", {16})};
  const double one_start = 1.1 + 3 * (2.3 + 0.8);
  EXPECT_NEAR(lab::estimate_seconds(s, lab::plan_run(s, {"a"}, 1), 0, 0), one_start, 1e-9);
  // The same downstream twice: still one start; a different one: a second start and primer.
  s.scenarios = {fixed, plain, fixed};
  s.scenarios[2].name = "fan2";
  EXPECT_NEAR(lab::estimate_seconds(s, lab::plan_run(s, {"a"}, 1), 0, 0), one_start, 1e-9);
  s.scenarios = {plain, fixed, tail};
  EXPECT_NEAR(lab::estimate_seconds(s, lab::plan_run(s, {"a"}, 1), 0, 0), one_start + 1.1, 1e-9);
}

TEST(RunnerServers, UnknownServerNamesTheValidOnes) {
  std::vector<lab::server_spec> all(2);
  all[0].name = "event_loop";
  all[1].name = "nginx";
  all[1].enabled = false;
  EXPECT_EQ(lab::select_servers(all, {}).size(), 1u);  // disabled ones only when named
  EXPECT_EQ(lab::select_servers(all, {"nginx"}).size(), 1u);
  try {
    lab::select_servers(all, {"fibre"});
    FAIL();
  } catch (const lab::registry_error& e) {
    EXPECT_STREQ(e.what(), "unknown server 'fibre'; valid servers: event_loop, nginx");
  }
}

TEST(RunnerHosts, OnlyLoopback) {
  EXPECT_TRUE(lab::is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(lab::is_loopback_host("127.1.2.3"));
  EXPECT_TRUE(lab::is_loopback_host("localhost"));
  EXPECT_TRUE(lab::is_loopback_host("::1"));
  EXPECT_FALSE(lab::is_loopback_host("10.0.0.1"));
  EXPECT_FALSE(lab::is_loopback_host("example.com"));
  EXPECT_FALSE(lab::is_loopback_host("128.0.0.1"));
}

