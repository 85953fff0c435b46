// Suites: the shipped ones are valid and fit their time budgets (quick <= 5 min, latency
// <= 15 min, gateway <= 25 min for 12 servers by the estimate), validation names the problem,
// open-loop scenarios and downstreams parse and round-trip through results.json's suite block.
#include "suite.h"

#include <gtest/gtest.h>

#include "plan.h"
#include "test_support.h"

using nlohmann::json;
using namespace lab::testing;

namespace {

std::vector<std::string> servers(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    std::string name = "s";
    name += std::to_string(i);
    out.push_back(name);
  }
  return out;
}

}  // namespace

TEST(RunnerSuites, ShippedSuitesAreValid) {
  auto names = lab::available_suites(root());
  for (const char* name : {"quick", "full", "latency", "e2e"})
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  for (const auto& name : names) EXPECT_NO_THROW(lab::load_suite(name, root())) << name;
  auto full = lab::load_suite("full", root());
  // full is the reference protocol (docs/numbers-that-travel.md): at least 4 repetitions, so
  // that a U test over them can reach p < 0.05, and within 2 hours with the 16 servers.
  EXPECT_GE(full.repetitions, 4);
  EXPECT_LE(lab::estimate_seconds(full, lab::plan_run(full, servers(16), 1), 16, 16), 7200);
  // quick must fit in 5 minutes with the 16 servers the lab ships (every one cold-started),
  // leaving room for the charts.
  auto quick = lab::load_suite("quick", root());
  EXPECT_GE(quick.startup_runs, 5);
  EXPECT_LE(lab::estimate_seconds(quick, lab::plan_run(quick, servers(16), 1), 16, 16), 285);
  // quick has one small open-loop scenario (a latency-vs-load chart), without capacity search.
  const auto open = std::count_if(quick.scenarios.begin(), quick.scenarios.end(),
                                  [](const lab::scenario& sc) { return sc.is_open(); });
  EXPECT_EQ(open, 1);
  // latency: every server, two open-loop scenarios with an SLO, within 15 minutes.
  auto latency = lab::load_suite("latency", root());
  for (const auto& sc : latency.scenarios) {
    EXPECT_TRUE(sc.is_open()) << sc.name;
    EXPECT_TRUE(sc.slo_p99_ms) << sc.name;
    EXPECT_GT(sc.capacity_search_steps, 0) << sc.name;
  }
  EXPECT_LE(lab::estimate_seconds(latency, lab::plan_run(latency, servers(12), 1), 12,
                                  latency.startup_runs > 0 ? 12 : 0),
            15 * 60);
  // gateway: every scenario calls a downstream (the suite's fixed one; the tail case its own),
  // within 25 minutes; quick has none (its 5 minutes have no room for the downstream's verification).
  auto gateway = lab::load_suite("gateway", root());
  EXPECT_TRUE(lab::needs_downstream(gateway));
  for (const auto& sc : gateway.scenarios) {
    EXPECT_TRUE(sc.downstream) << sc.name;
    EXPECT_TRUE(sc.path.starts_with("/gateway?")) << sc.name;
  }
  EXPECT_EQ(gateway.scenarios.back().downstream->delay, "tail:0.01:100");
  EXPECT_LE(lab::estimate_seconds(gateway, lab::plan_run(gateway, servers(12), 1), 12,
                                  gateway.startup_runs > 0 ? 12 : 0),
            25 * 60);
  EXPECT_FALSE(lab::needs_downstream(quick));
}

TEST(RunnerSuites, DownstreamOfTheSuiteOrTheScenarioParsesAndRoundTrips) {
  json j = {{"name", "gw"}, {"duration_s", 2},
            {"downstream", {{"delay", "lognormal:0.5"}}},
            {"scenarios", {{{"name", "fan"}, {"path", "/gateway?fanout=4&ms=10"}, {"connections", {16}}},
                           {{"name", "tail"}, {"path", "/gateway?fanout=16&ms=10"}, {"connections", {64}},
                            {"downstream", {{"delay", "tail:0.01:100"}, {"threads", 2}}}}}}};
  auto s = lab::parse_suite(j, "gw.json");
  ASSERT_TRUE(s.scenarios[0].downstream);
  EXPECT_EQ(s.scenarios[0].downstream->delay, "lognormal:0.5");  // the suite's
  EXPECT_EQ(s.scenarios[0].downstream->threads, 1);               // its default
  ASSERT_TRUE(s.scenarios[1].downstream);
  EXPECT_EQ(*s.scenarios[1].downstream, (lab::downstream_config{"tail:0.01:100", 2}));
  EXPECT_EQ(s.scenarios[1].downstream->describe(), "tail:0.01:100, 2 threads");
  EXPECT_TRUE(lab::needs_downstream(s));
  // Through results.json's suite block: each scenario carries its own.
  const json recorded = lab::suite_to_json(s);
  EXPECT_EQ(recorded["scenarios"][0]["downstream"], (json{{"delay", "lognormal:0.5"}, {"threads", 1}}));
  auto again = lab::parse_suite(recorded, "results.json");
  EXPECT_EQ(again.scenarios[0].downstream, s.scenarios[0].downstream);
  EXPECT_EQ(again.scenarios[1].downstream, s.scenarios[1].downstream);
  // Without one anywhere: none, and the record has no field.
  j.erase("downstream");
  s = lab::parse_suite(j, "gw.json");
  EXPECT_FALSE(s.scenarios[0].downstream);
  EXPECT_FALSE(lab::suite_to_json(s)["scenarios"][0].contains("downstream"));
  s.scenarios.erase(s.scenarios.begin() + 1);
  EXPECT_FALSE(lab::needs_downstream(s));
  // Every documented profile is accepted.
  for (const char* delay : {"fixed", "lognormal:0", "lognormal:1.25", "tail:0:0", "tail:1:100", "tail:0.001:250.5"}) {
    j["downstream"] = {{"delay", delay}};
    EXPECT_NO_THROW(lab::parse_suite(j, "gw.json")) << delay;
  }
}

TEST(RunnerSuites, DownstreamValidationNamesTheProblem) {
  auto error_of = [](const json& downstream) {
    json j = {{"name", "gw"}, {"duration_s", 2},
              {"scenarios", {{{"name", "fan"}, {"path", "/gateway?fanout=4&ms=10"}, {"connections", {16}},
                              {"downstream", downstream}}}}};
    try {
      lab::parse_suite(j, "gw.json");
    } catch (const lab::suite_error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  EXPECT_NE(error_of({{"delay", "uniform"}}).find("scenarios[0].downstream.delay"), std::string::npos);
  EXPECT_NE(error_of({{"delay", "uniform"}}).find("lognormal:SIGMA"), std::string::npos);
  for (const char* bad : {"lognormal", "lognormal:", "lognormal:-1", "lognormal:x", "tail:0.5",
                          "tail:2:100", "tail:0.1:-5", "tail:0.1:1e3", "fixed:1"})
    EXPECT_NE(error_of({{"delay", bad}}).find("downstream.delay"), std::string::npos) << bad;
  EXPECT_NE(error_of({{"delay", 5}}).find("must be a string"), std::string::npos);
  EXPECT_NE(error_of({{"threads", 0}}).find("downstream.threads: must be an integer in 1..64"), std::string::npos);
  EXPECT_NE(error_of({{"threads", 1.5}}).find("downstream.threads"), std::string::npos);
  EXPECT_NE(error_of({{"delay", "fixed"}, {"seed", 3}}).find("downstream.seed: unknown field"), std::string::npos);
  EXPECT_NE(error_of("fixed").find("must be an object"), std::string::npos);
  // The suite's too.
  json j = {{"name", "gw"}, {"duration_s", 2}, {"downstream", {{"threads", 100}}},
            {"scenarios", {{{"name", "fan"}, {"path", "/gateway"}, {"connections", {16}}}}}};
  EXPECT_THROW(lab::parse_suite(j, "gw.json"), lab::suite_error);
}

TEST(RunnerSuites, OpenLoopScenarioParsesAndRoundTrips) {
  json j = {{"name", "t"}, {"duration_s", 2},
            {"scenarios", {{{"name", "lat"}, {"path", "/sleep?ms=10"}, {"load", "open"},
                            {"rate_fractions", {0.25, 0.5, 1.1}}, {"slo_p99_ms", 20},
                            {"capacity_search", {{"steps", 3}}}, {"probe", {{"connections", 512}}}},
                           {{"name", "abs"}, {"path", "/plaintext"}, {"load", "open"},
                            {"rates", {1000, 2000}}, {"connections", {64}}},
                           {{"name", "closed_lab_load"}, {"path", "/json"}, {"generator", "lab_load"},
                            {"connections", {16}}}}}};
  auto s = lab::parse_suite(j, "x.json");
  const auto& lat = s.scenarios[0];
  EXPECT_TRUE(lat.is_open());
  EXPECT_TRUE(lat.needs_probe());
  EXPECT_EQ(lat.generator, "lab_load");
  EXPECT_EQ(lat.rate_fractions, (std::vector<double>{0.25, 0.5, 1.1}));
  EXPECT_EQ(lat.slo_p99_ms, 20);
  EXPECT_EQ(lat.capacity_search_steps, 3);
  EXPECT_EQ(lat.probe.connections, 512);
  EXPECT_EQ(lat.probe.duration_s, 2);
  EXPECT_EQ(lat.connection_cap(), lab::default_open_connection_cap);
  EXPECT_EQ(lat.level_count(), 3u);
  const auto& abs = s.scenarios[1];
  EXPECT_FALSE(abs.needs_probe());
  EXPECT_EQ(abs.rates, (std::vector<double>{1000, 2000}));
  EXPECT_EQ(abs.connection_cap(), 64);
  EXPECT_FALSE(s.scenarios[2].is_open());
  EXPECT_EQ(s.scenarios[2].generator, "lab_load");
  EXPECT_EQ(s.scenarios[0].probe, (lab::capacity_probe{512, 2}));
  // results.json keeps the suite as run; --resume parses it back to the same suite.
  auto again = lab::parse_suite(lab::suite_to_json(s), "results.json suite");
  ASSERT_EQ(again.scenarios.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    const auto &a = s.scenarios[i], &b = again.scenarios[i];
    EXPECT_EQ(a.load, b.load);
    EXPECT_EQ(a.generator, b.generator);
    EXPECT_EQ(a.rates, b.rates);
    EXPECT_EQ(a.rate_fractions, b.rate_fractions);
    EXPECT_EQ(a.slo_p99_ms, b.slo_p99_ms);
    EXPECT_EQ(a.capacity_search_steps, b.capacity_search_steps);
    EXPECT_EQ(a.probe, b.probe);
    EXPECT_EQ(a.connections, b.connections);
  }
  // A v1 suite block (no load, no generator) is closed loop with wrk.
  json v1 = {{"name", "q"}, {"duration_s", 1},
             {"scenarios", {{{"name", "p"}, {"path", "/plaintext"}, {"pipeline", 1}, {"connections", {16}}}}}};
  auto old = lab::parse_suite(v1, "v1");
  EXPECT_FALSE(old.scenarios[0].is_open());
  EXPECT_EQ(old.scenarios[0].generator, "wrk");
}

TEST(RunnerSuites, OpenLoopValidationNamesTheProblem) {
  auto expect_error = [](json scenario, const std::string& needle) {
    json j = {{"name", "t"}, {"duration_s", 1}, {"scenarios", {scenario}}};
    try {
      lab::parse_suite(j, "x.json");
      ADD_FAILURE() << "no error for " << scenario.dump();
    } catch (const lab::suite_error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  json open = {{"name", "o"}, {"path", "/plaintext"}, {"load", "open"}, {"rates", {100, 200}}};
  auto bad = open;
  bad["rate_fractions"] = {0.5};
  expect_error(bad, "exactly one of rates (req/s) and rate_fractions");
  bad = open;
  bad.erase("rates");
  expect_error(bad, "exactly one of rates");
  bad = open;
  bad["rates"] = {200, 100};
  expect_error(bad, "scenarios[0].rates: values must be strictly ascending");
  bad = open;
  bad["capacity_search"] = {{"steps", 3}};
  expect_error(bad, "capacity_search: needs slo_p99_ms");
  bad = open;
  bad["connections"] = {64, 128};
  expect_error(bad, "one value: lab_load's connection cap");
  bad = open;
  bad["pipeline"] = 16;
  expect_error(bad, "does not pipeline");
  bad = open;
  bad["generator"] = "wrk";
  expect_error(bad, "an open-loop scenario needs lab_load");
  bad = open;
  bad["probe"] = {{"connections", 64}};
  expect_error(bad, "probe: only with rate_fractions");
  bad = open;
  bad["load"] = "half-open";
  expect_error(bad, "load: must be \"closed\" or \"open\"");
  json closed = {{"name", "c"}, {"path", "/plaintext"}, {"connections", {16}}, {"rates", {100}}};
  expect_error(closed, "rates: only for an open-loop scenario");
  closed = {{"name", "c"}, {"path", "/plaintext"}, {"connections", {16}}, {"pipeline", 16},
            {"generator", "lab_load"}};
  expect_error(closed, "lab_load does not pipeline");
}

TEST(RunnerSuites, ValidationErrorsNameTheProblem) {
  auto expect_error = [](const json& j, const std::string& needle) {
    try {
      lab::parse_suite(j, "x.json");
      ADD_FAILURE() << "no error for " << j.dump();
    } catch (const lab::suite_error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  json good = {{"name", "t"}, {"duration_s", 1},
               {"scenarios", {{{"name", "p"}, {"path", "/plaintext"}, {"connections", {1, 2}}}}}};
  EXPECT_NO_THROW(lab::parse_suite(good, "x.json"));
  auto bad = good;
  bad["durration_s"] = 1;
  expect_error(bad, "durration_s: unknown field; valid fields: name, description, duration_s");
  bad = good;
  bad.erase("duration_s");
  expect_error(bad, "duration_s: missing");
  bad = good;
  bad["scenarios"][0]["connections"] = {16, 8};
  expect_error(bad, "scenarios[0].connections: levels must be strictly ascending");
  bad = good;
  bad["duration_s"] = 1.5;
  expect_error(bad, "duration_s: must be a whole number of seconds");
  bad = good;
  bad["scenarios"][0]["path"] = "plaintext";
  expect_error(bad, "scenarios[0].path");
  bad = good;
  bad["scenarios"].push_back(good["scenarios"][0]);
  expect_error(bad, "duplicate scenario 'p'");
  try {
    lab::load_suite("nosuch", root());
    ADD_FAILURE();
  } catch (const lab::suite_error& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("unknown suite 'nosuch'; valid suites: "), std::string::npos) << message;
    for (const char* name : {"e2e", "full", "quick"})
      EXPECT_NE(message.find(name), std::string::npos) << message;
  }
  auto s = lab::parse_suite(good, "x.json");
  try {
    lab::select_scenarios(s, {"q"});
    ADD_FAILURE();
  } catch (const lab::suite_error& e) {
    EXPECT_NE(std::string(e.what()).find("unknown scenario 'q' in suite t; valid scenarios: p"),
              std::string::npos) << e.what();
  }
}
