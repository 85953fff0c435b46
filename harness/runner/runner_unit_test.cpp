// Unit tests of the harness's pieces: wrk report parsing, the canary's `starved` rule, aggregation, /proc sampling, results
// writing and resume, suites, CPU lists, planning.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "canary.h"
#include "context.h"
#include "proc_sampler.h"
#include "results.h"
#include "runner.h"
#include "stats.h"
#include "suite.h"
#include "summary.h"
#include "wrk.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

fs::path root() {
  const char* r = std::getenv("LAB_ROOT");
  return r ? fs::path(r) : fs::current_path();
}

fs::path temp_dir(const std::string& name) {
  auto dir = fs::temp_directory_path() / ("runner_test_" + name + "_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

const char* sample_report =
    R"({"duration_us":2101683,"requests":143868,"bytes":23162083,)"
    R"("errors":{"connect":1,"read":2,"write":3,"timeout":4,"status":5},)"
    R"("latency_us":{"min":63,"max":3468,"mean":231.696646,"stdev":121.218391,"p50":210,)"
    R"("p75":248,"p90":273,"p99":411,"p99_9":2285},"thread_rate":{"mean":69001.1,"max":71680}})";

}  // namespace

TEST(RunnerWrkReport, ParsesEveryField) {
  auto r = lab::parse_wrk_report(sample_report);
  EXPECT_DOUBLE_EQ(r.duration_s, 2.101683);
  EXPECT_EQ(r.requests, 143868u);
  EXPECT_EQ(r.bytes, 23162083u);
  EXPECT_NEAR(r.requests_per_s(), 143868 / 2.101683, 1e-6);
  EXPECT_EQ(r.errors.connect, 1u);
  EXPECT_EQ(r.errors.read, 2u);
  EXPECT_EQ(r.errors.write, 3u);
  EXPECT_EQ(r.errors.timeout, 4u);
  EXPECT_EQ(r.errors.status, 5u);
  EXPECT_EQ(r.errors.total(), 15u);
  EXPECT_EQ(r.latency.p50, 210);
  EXPECT_EQ(r.latency.p75, 248);
  EXPECT_EQ(r.latency.p90, 273);
  EXPECT_EQ(r.latency.p99, 411);
  EXPECT_EQ(r.latency.p99_9, 2285);
  EXPECT_EQ(r.latency.max, 3468);
  EXPECT_DOUBLE_EQ(r.latency.mean, 231.696646);
  EXPECT_EQ(r.latency_reachable_fraction, 1);  // absent: nothing rescaled
  auto j = json::parse(sample_report);
  j["latency_reachable_fraction"] = 0.88;
  EXPECT_DOUBLE_EQ(lab::parse_wrk_report(j.dump()).latency_reachable_fraction, 0.88);
  j["latency_reachable_fraction"] = 0;
  EXPECT_THROW(lab::parse_wrk_report(j.dump()), lab::wrk_error);
}

TEST(RunnerWrkReport, RejectsMissingFieldsAndBadPercentiles) {
  EXPECT_THROW(lab::parse_wrk_report("not json"), lab::wrk_error);
  auto j = json::parse(sample_report);
  j["errors"].erase("timeout");
  try {
    lab::parse_wrk_report(j.dump());
    FAIL() << "expected wrk_error";
  } catch (const lab::wrk_error& e) {
    EXPECT_NE(std::string(e.what()).find("errors.timeout"), std::string::npos) << e.what();
  }
  // A percentile above the max is what a misused percentile() call would produce.
  auto bad = json::parse(sample_report);
  bad["latency_us"]["p99"] = 99999;
  EXPECT_THROW(lab::parse_wrk_report(bad.dump()), lab::wrk_error);
}

TEST(RunnerWrkArgv, ClampsThreadsAndFormatsDurations) {
  lab::wrk_job job;
  job.url = "http://127.0.0.1:1/plaintext";
  job.connections = 1;
  job.threads = 4;
  job.duration_s = 0.5;
  job.timeout_s = 5;
  job.script = "s.lua";
  auto argv = lab::wrk_argv(job);
  EXPECT_EQ(argv[0], "wrk");
  EXPECT_NE(std::find(argv.begin(), argv.end(), "-t1"), argv.end());
  EXPECT_NE(std::find(argv.begin(), argv.end(), "-c1"), argv.end());
  EXPECT_NE(std::find(argv.begin(), argv.end(), "-d1s"), argv.end());  // wrk: whole seconds only
  EXPECT_NE(std::find(argv.begin(), argv.end(), "5s"), argv.end());
  EXPECT_EQ(argv.back(), job.url);
}

TEST(RunnerStats, MedianMinMax) {
  auto s = lab::summarize({3, 1, 2});
  EXPECT_EQ(s.median, 2);
  EXPECT_EQ(s.min, 1);
  EXPECT_EQ(s.max, 3);
  auto even = lab::summarize({4, 1, 3, 2});
  EXPECT_EQ(even.median, 2.5);
  auto one = lab::summarize({7});
  EXPECT_EQ(one.median, 7);
  EXPECT_EQ(one.min, 7);
  auto none = lab::summarize({});
  EXPECT_EQ(none.median, 0);
}

TEST(RunnerStats, NoisyAboveTenPercentSpread) {
  EXPECT_FALSE(lab::is_noisy(lab::summarize({100, 105, 109})));  // 9 %
  EXPECT_TRUE(lab::is_noisy(lab::summarize({100, 105, 111})));   // 11 %
  EXPECT_FALSE(lab::is_noisy(lab::summarize({0, 0})));
}

TEST(RunnerProcSampler, SamplesThisProcess) {
  std::vector<char> memory(8 << 20, 1);  // touch 8 MiB so RSS is clearly > 0
  std::thread extra([] { std::this_thread::sleep_for(std::chrono::milliseconds(300)); });
  auto s = lab::sample_process(getpid());
  EXPECT_EQ(s.processes, 1);
  EXPECT_GT(s.rss_kb, 8000u);
  EXPECT_GE(s.hwm_kb, s.rss_kb);
  EXPECT_GE(s.threads, 2);
  EXPECT_GT(s.voluntary_ctxt_switches + s.nonvoluntary_ctxt_switches, 0u);
  extra.join();
  EXPECT_EQ(lab::sample_process(999999999).processes, 0);
  EXPECT_GT(memory[1234], 0);
}

TEST(RunnerProcSampler, GroupSamplerSeesCpuTimeOfTheGroup) {
  // The test process leads no group of its own necessarily; sample whatever group it is in.
  const pid_t group = getpgrp();
  auto members = lab::process_group_members(group);
  EXPECT_NE(std::find(members.begin(), members.end(), getpid()), members.end());
  lab::group_sampler sampler(group, std::chrono::milliseconds(20));
  sampler.start();
  volatile unsigned x = 1;
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  while (std::chrono::steady_clock::now() < until) x = x * 1664525u + 1013904223u;
  auto samples = sampler.stop();
  ASSERT_GE(samples.size(), 5u);
  EXPECT_EQ(samples.front().t_s, 0.0);
  EXPECT_GT(samples.back().t_s, 0.25);
  const double cpu = samples.back().sample.utime_s + samples.back().sample.stime_s -
                     samples.front().sample.utime_s - samples.front().sample.stime_s;
  EXPECT_GT(cpu, 0.15);  // we burned ~0.3 s of CPU
  EXPECT_GT(samples.back().sample.rss_kb, 0u);
}

namespace {

json measurement(const std::string& server, int c, int rep, double rps, const std::string& status = "ok",
                 bool client_bound = false) {
  json flags = json::array();
  if (client_bound) flags.push_back("client_bound");
  return {{"server", server}, {"model", "event_loop"}, {"language", "cpp"}, {"scenario", "plaintext"},
          {"path", "/plaintext"}, {"connections", c}, {"pipeline", 1}, {"repetition", rep},
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

json minimal_doc() {
  return {{"schema_version", 1}, {"kind", "service"}, {"complete", false},
          {"context", {{"date", "2026-11-23T05:00:00Z"}, {"host", "h"}, {"kernel", "k"},
                       {"compiler", "g++"}, {"build_type", "Release"}, {"suite", "quick"},
                       {"cores", 2}, {"seed", 7}, {"git_dirty", nullptr}, {"runtimes", json::object()},
                       {"cpu_layout", {{"server_cpus", {0}}, {"client_cpus", {1}}}}}},
          {"suite", {{"name", "quick"}, {"duration_s", 1.0}, {"repetitions", 3}, {"scenarios", json::array()}}},
          {"servers", json::array()}, {"measurements", json::array()}, {"aggregates", json::array()},
          {"startup", json::array()}};
}

}  // namespace

TEST(RunnerAggregates, MedianOverRepetitionsAndFlags) {
  json ms = json::array({measurement("a", 16, 0, 100), measurement("a", 16, 1, 120, "ok", true),
                         measurement("a", 16, 2, 105), measurement("a", 16, 3, 1, "failed"),
                         measurement("b", 16, 0, 50), measurement("b", 16, 1, 51)});
  auto aggs = lab::make_aggregates(ms);
  ASSERT_EQ(aggs.size(), 2u);
  EXPECT_EQ(aggs[0]["server"], "a");
  EXPECT_EQ(aggs[0]["repetitions"], 3);  // the failed one is not aggregated
  EXPECT_EQ(aggs[0]["requests_per_s"]["median"], 105);
  EXPECT_EQ(aggs[0]["requests_per_s"]["min"], 100);
  EXPECT_EQ(aggs[0]["requests_per_s"]["max"], 120);
  EXPECT_EQ(aggs[0]["latency_p99_us"]["median"], 1.05);
  EXPECT_TRUE(aggs[0]["client_bound"].get<bool>());
  EXPECT_EQ(aggs[0]["flags"], json({"client_bound", "noisy"}));  // (120-100)/105 = 19 %
  EXPECT_EQ(aggs[1]["flags"], json::array());                    // 2 % spread
}

TEST(RunnerResults, AtomicRewriteLeavesValidJson) {
  auto dir = temp_dir("atomic");
  auto file = dir / "results.json";
  json doc = minimal_doc();
  lab::write_json_atomically(file, doc);
  EXPECT_EQ(lab::load_results(file), doc);
  doc["measurements"].push_back(measurement("a", 16, 0, 100));
  lab::write_json_atomically(file, doc);
  EXPECT_EQ(lab::load_results(file)["measurements"].size(), 1u);
  EXPECT_FALSE(fs::exists(dir / "results.json.tmp"));
  // A stale temp file from a killed writer does not affect the real one.
  std::ofstream(dir / "results.json.tmp") << "{ half";
  EXPECT_EQ(lab::load_results(file)["measurements"].size(), 1u);
  lab::write_json_atomically(file, doc);
  EXPECT_EQ(lab::load_results(file)["measurements"].size(), 1u);
  // Other schema versions are refused.
  doc["schema_version"] = 2;
  lab::write_json_atomically(file, doc);
  EXPECT_THROW(lab::load_results(file), lab::results_error);
  fs::remove_all(dir);
}

TEST(RunnerResults, SchemaValidation) {
  json doc = minimal_doc();
  doc["servers"].push_back({{"name", "a"}, {"model", "event_loop"}, {"language", "cpp"},
                            {"reference", false}, {"status", "ok"}, {"reason", nullptr}});
  doc["measurements"].push_back(measurement("a", 16, 0, 100));
  doc["aggregates"] = lab::make_aggregates(doc["measurements"]);
  EXPECT_EQ(lab::validate_service_results(doc), std::vector<std::string>{});
  doc["measurements"][0]["latency_us"].erase("p99");
  doc["context"].erase("seed");
  auto problems = lab::validate_service_results(doc);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_EQ(problems[0], "context.seed: missing");
  EXPECT_EQ(problems[1], "measurements[0].latency_us.p99: missing");
}

TEST(RunnerResume, RedoesOnlyUnfinishedMeasurements) {
  lab::suite s;
  s.name = "t";
  s.repetitions = 2;
  s.scenarios = {{"plaintext", "/plaintext", 1, {16, 256}, 0}, {"json", "/json", 1, {16}, 0}};
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
  auto m0 = measurement(plan[0].server, 16, 0, 100);
  auto m1 = measurement(plan[0].server, 256, 0, 100, "failed");
  doc["measurements"] = json::array({m0, m1});
  lab::drop_unfinished(doc);
  EXPECT_EQ(doc["measurements"].size(), 1u);
  auto finished = lab::finished_measurements(doc);
  ASSERT_EQ(finished.size(), 1u);
  auto left = lab::remaining_blocks(plan, finished);
  ASSERT_EQ(left.size(), 6u);
  EXPECT_EQ(left[0].server, plan[0].server);
  ASSERT_EQ(left[0].measurements.size(), 2u);
  EXPECT_EQ(left[0].measurements[0].connections, 256);
  EXPECT_EQ(left[0].measurements[1].scenario, "json");
  // Finish the whole first block: it disappears.
  for (const auto& k : plan[0].measurements) finished.insert(k);
  left = lab::remaining_blocks(plan, finished);
  EXPECT_EQ(left.size(), 5u);
  EXPECT_EQ(left[0].server, plan[1].server);
}

TEST(RunnerSuites, ShippedSuitesAreValid) {
  auto names = lab::available_suites(root());
  EXPECT_NE(std::find(names.begin(), names.end(), "quick"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "full"), names.end());
  for (const auto& name : names) EXPECT_NO_THROW(lab::load_suite(name, root())) << name;
  auto full = lab::load_suite("full", root());
  EXPECT_GE(full.repetitions, 3);
  auto quick = lab::load_suite("quick", root());
  EXPECT_GT(quick.startup_runs, 9);
  // quick must fit in 5 minutes with 11 servers on this machine.
  std::vector<std::string> eleven;
  for (int i = 0; i < 11; ++i) eleven.push_back("s" + std::to_string(i));
  auto plan = lab::plan_run(quick, eleven, 1);
  EXPECT_LE(lab::estimate_seconds(quick, plan, 11, 11), 300);
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

TEST(RunnerCpuLayout, ParsesListsAndDefaults) {
  EXPECT_EQ(lab::parse_cpu_list("0", 2), std::vector<int>({0}));
  EXPECT_EQ(lab::parse_cpu_list("2,0-1", 4), std::vector<int>({0, 1, 2}));
  EXPECT_THROW(lab::parse_cpu_list("2", 2), std::invalid_argument);
  EXPECT_THROW(lab::parse_cpu_list("a", 2), std::invalid_argument);
  EXPECT_THROW(lab::parse_cpu_list("3-1", 4), std::invalid_argument);
  auto two = lab::default_cpu_layout(2);
  EXPECT_EQ(two.server_cpus, std::vector<int>({0}));
  EXPECT_EQ(two.client_cpus, std::vector<int>({1}));
  auto one = lab::default_cpu_layout(1);
  EXPECT_EQ(one.server_cpus, std::vector<int>({0}));
  EXPECT_EQ(one.client_cpus, std::vector<int>({0}));
  auto eight = lab::default_cpu_layout(8);
  EXPECT_EQ(eight.server_cpus.size(), 4u);
  EXPECT_EQ(eight.client_cpus.front(), 4);
}

TEST(RunnerSummary, RanksByThroughput) {
  json doc = minimal_doc();
  doc["suite"]["scenarios"] = {{{"name", "plaintext"}, {"path", "/plaintext"}, {"pipeline", 1}, {"connections", {16}}}};
  doc["servers"] = {{{"name", "slow"}, {"status", "ok"}, {"reason", nullptr}},
                    {{"name", "fast"}, {"status", "ok"}, {"reason", nullptr}},
                    {{"name", "broken"}, {"status", "failed"}, {"reason", "conformance failed: x"}},
                    {{"name", "nginx"}, {"status", "ok"}, {"reason", "partial reference server: y"},
                     {"scenarios_not_served", {"sleep"}}}};
  doc["measurements"] = {measurement("slow", 16, 0, 100), measurement("fast", 16, 0, 300, "ok", true)};
  doc["aggregates"] = lab::make_aggregates(doc["measurements"]);
  auto text = lab::summary_markdown(doc);
  auto fast = text.find("| 1 | fast |");
  auto slow = text.find("| 2 | slow |");
  EXPECT_NE(fast, std::string::npos) << text;
  EXPECT_NE(slow, std::string::npos) << text;
  EXPECT_NE(text.find("client_bound"), std::string::npos);
  EXPECT_NE(text.find("server broken failed: conformance failed: x"), std::string::npos) << text;
  EXPECT_NE(text.find("server nginx (reference) not measured on [\"sleep\"]"), std::string::npos) << text;
}

TEST(RunnerContext, RecordsLayoutSeedAndMachine) {
  auto ctx = lab::collect_context(root(), {{0}, {1}}, "quick", 99, "lab_harness run");
  EXPECT_EQ(ctx["seed"], 99);
  EXPECT_EQ(ctx["suite"], "quick");
  EXPECT_EQ(ctx["cpu_layout"]["client_cpus"], json({1}));
  EXPECT_GE(ctx["cores"].get<int>(), 1);
  EXPECT_FALSE(ctx["kernel"].get<std::string>().empty());
  EXPECT_TRUE(ctx["runtimes"]["wrk"].is_null() || ctx["runtimes"]["wrk"].get<std::string>()[0] == '4');
  EXPECT_TRUE(ctx["git_commit"].is_null() || ctx["git_commit"].get<std::string>().size() == 40);
}

TEST(RunnerCanary, StarvationLimitIsHalfTheRunButReachable) {
  // max(2 s, 50 %), capped at 60 % of the run (the canary starts 20 % in).
  EXPECT_DOUBLE_EQ(lab::starvation_limit_s(2), 1.2);
  EXPECT_DOUBLE_EQ(lab::starvation_limit_s(1), 0.6);
  EXPECT_DOUBLE_EQ(lab::starvation_limit_s(3), 1.8);
  EXPECT_DOUBLE_EQ(lab::starvation_limit_s(5), 2.5);
  EXPECT_DOUBLE_EQ(lab::starvation_limit_s(15), 7.5);
  EXPECT_DOUBLE_EQ(lab::starvation_limit_s(60), 30.0);
}

TEST(RunnerCanary, StarvedWhenTheFirstRequestWaitsTooLong) {
  lab::canary_result served{30, 30, 0.4, 12.0};
  EXPECT_FALSE(lab::is_starved(served, 2));
  EXPECT_FALSE(lab::is_starved(served, 15));
  lab::canary_result never{1, 0, std::nullopt, 1600.0};  // waited the whole 2 s run's window
  EXPECT_TRUE(lab::is_starved(never, 2));
  EXPECT_FALSE(lab::is_starved(never, 15));  // 1.6 s of 7.5 s allowed: not (yet) starved
  lab::canary_result late{5, 5, 1300.0, 1300.0};  // answered, but after 1.3 s
  EXPECT_TRUE(lab::is_starved(late, 2));
  EXPECT_FALSE(lab::is_starved(late, 5));
  lab::canary_result cut_short{1, 0, std::nullopt, 500.0};  // the run ended soon after it joined
  EXPECT_FALSE(lab::is_starved(cut_short, 2));
  // Later slow answers do not flag: only the first request tells a connection was left waiting.
  lab::canary_result later_slow{3, 2, 2.0, 5000.0};
  EXPECT_FALSE(lab::is_starved(later_slow, 2));
  const auto j = never.to_json();
  EXPECT_TRUE(j["first_response_ms"].is_null());
  EXPECT_EQ(j["max_wait_ms"], 1600.0);
  EXPECT_EQ(j["requests_sent"], 1);
  EXPECT_EQ(served.to_json()["first_response_ms"], 0.4);
}

TEST(RunnerCanary, ProbeOfAListenerThatNeverAnswersRecordsTheWait) {
  // The kernel completes the connect from the backlog; nobody ever accepts or answers.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(fd, 8), 0);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const auto t0 = std::chrono::steady_clock::now();
  lab::canary_probe probe("127.0.0.1", ntohs(addr.sin_port), "/plaintext",
                          std::chrono::milliseconds(100), std::chrono::seconds(10));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto seen = probe.finish();
  const double elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  close(fd);
  EXPECT_EQ(seen.requests_sent, 1);
  EXPECT_EQ(seen.responses, 0);
  EXPECT_FALSE(seen.first_response_ms);
  EXPECT_GE(seen.max_wait_ms, 350);  // joined at 100 ms, stopped at ~500 ms
  EXPECT_LE(seen.max_wait_ms, elapsed_ms);
  EXPECT_LT(elapsed_ms, 1000);  // finish() stops it promptly
}

TEST(RunnerAggregates, StarvedIsInheritedAndExplainedInTheSummary) {
  json doc = minimal_doc();
  doc["suite"]["scenarios"] = {{{"name", "plaintext"}, {"path", "/plaintext"}, {"pipeline", 1}, {"connections", {16}}}};
  doc["servers"] = {{{"name", "a"}, {"model", "event_loop"}, {"language", "cpp"}, {"reference", false},
                     {"status", "ok"}, {"reason", nullptr}}};
  auto starved = measurement("a", 16, 1, 100);
  starved["flags"] = {"starved"};
  starved["canary"] = lab::canary_result{1, 0, std::nullopt, 1640.0}.to_json();
  auto fine = measurement("a", 16, 0, 101);
  fine["canary"] = lab::canary_result{20, 20, 0.3, 1.1}.to_json();
  doc["measurements"] = {fine, starved};
  doc["aggregates"] = lab::make_aggregates(doc["measurements"]);
  ASSERT_EQ(doc["aggregates"].size(), 1u);
  EXPECT_EQ(doc["aggregates"][0]["flags"], json({"starved"}));
  EXPECT_EQ(lab::validate_service_results(doc), std::vector<std::string>{});
  auto text = lab::summary_markdown(doc);
  EXPECT_NE(text.find("| starved |"), std::string::npos) << text;
  EXPECT_NE(text.find("- a plaintext: c=16 in 1 of 2 repetitions (longest wait 1.6 s, never answered in 1)\n"),
            std::string::npos) << text;
  EXPECT_NE(text.find("throughput counts only the served ones"), std::string::npos) << text;
  doc["measurements"][1]["canary"]["max_wait_ms"] = "long";
  EXPECT_EQ(lab::validate_service_results(doc).size(), 1u);
}
