// Unit tests of the runner's small pieces without a test file of their own: median/min/max and
// `noisy` (stats), /proc sampling, the human summary, the context block and CPU lists.
#include <gtest/gtest.h>

#include <thread>

#include "canary.h"
#include "context.h"
#include "proc_sampler.h"
#include "results.h"
#include "stats.h"
#include "summary.h"
#include "test_support.h"

using nlohmann::json;
using namespace lab::testing;

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
  // Burn 0.3 s of this thread's CPU (not of wall time: on a busy machine 300 ms of wall time
  // bought 0.12 s of CPU), bounded by 10 s of wall time.
  auto thread_cpu_s = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
  };
  volatile unsigned x = 1;
  const double cpu_start = thread_cpu_s();
  const auto wall_start = std::chrono::steady_clock::now();
  auto wall = [&] { return std::chrono::steady_clock::now() - wall_start; };
  while ((thread_cpu_s() - cpu_start < 0.3 || wall() < std::chrono::milliseconds(300)) &&
         wall() < std::chrono::seconds(10))
    x = x * 1664525u + 1013904223u;
  auto samples = sampler.stop();
  ASSERT_GE(samples.size(), 5u);
  EXPECT_EQ(samples.front().t_s, 0.0);
  EXPECT_GT(samples.back().t_s, 0.25);
  const double cpu = samples.back().sample.utime_s + samples.back().sample.stime_s -
                     samples.front().sample.utime_s - samples.front().sample.stime_s;
  EXPECT_GT(cpu, 0.15);  // we burned ~0.3 s of CPU
  EXPECT_GT(samples.back().sample.rss_kb, 0u);
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
  doc["measurements"] = {closed_measurement("slow", 16, 0, 100), closed_measurement("fast", 16, 0, 300, "ok", true)};
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

TEST(RunnerAggregates, StarvedIsInheritedAndExplainedInTheSummary) {
  json doc = minimal_doc();
  doc["suite"]["scenarios"] = {{{"name", "plaintext"}, {"path", "/plaintext"}, {"pipeline", 1}, {"connections", {16}}}};
  doc["servers"] = {{{"name", "a"}, {"model", "event_loop"}, {"language", "cpp"}, {"reference", false},
                     {"status", "ok"}, {"reason", nullptr}}};
  auto starved = closed_measurement("a", 16, 1, 100);
  starved["flags"] = {"starved"};
  starved["canary"] = lab::canary_result{1, 0, std::nullopt, 1640.0}.to_json();
  auto fine = closed_measurement("a", 16, 0, 101);
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

TEST(RunnerSummary, OpenLoopPointsAndCapacityAtSlo) {
  json doc = minimal_doc();
  doc["suite"]["scenarios"] = {{{"name", "plaintext_latency"}, {"path", "/plaintext"}, {"load", "open"},
                                {"connections", {1024}}, {"rate_fractions", {0.5, 1.0}}}};
  doc["servers"] = {{{"name", "a"}, {"model", "event_loop"}, {"language", "cpp"}, {"reference", false},
                     {"status", "ok"}, {"reason", nullptr}}};
  doc["measurements"] = {open_measurement("a", 5000, 0, 4990, 300),
                         open_measurement("a", 10000, 0, 8000, 90000, {"overloaded"})};
  auto failed = open_measurement("a", 7500, 0, 0, 0, json::array(), true);
  failed = {{"server", "a"}, {"model", "event_loop"}, {"language", "cpp"}, {"scenario", "plaintext_latency"},
            {"path", "/plaintext"}, {"load", "open"}, {"generator", "lab_load"}, {"rate", 7500},
            {"connections", 1024}, {"pipeline", 1}, {"repetition", 0}, {"search_step", true},
            {"status", "failed"}, {"reason", "lab_load exited with 2"}, {"flags", json::array()}};
  doc["measurements"].push_back(failed);
  doc["aggregates"] = lab::make_aggregates(doc["measurements"]);
  doc["capacity"] = {{{"server", "a"}, {"scenario", "plaintext_latency"}, {"slo_p99_ms", 10}, {"probe_rps", 10000},
                      {"capacity_rps", 5000}, {"first_failing_rps", 10000}, {"points", json::array()},
                      {"status", "ok"}, {"reason", nullptr}}};
  EXPECT_EQ(lab::validate_service_results(doc), std::vector<std::string>{});
  const auto text = lab::summary_markdown(doc);
  EXPECT_NE(text.find("## plaintext_latency — `/plaintext`, open loop"), std::string::npos) << text;
  EXPECT_NE(text.find("| a | 5000 | 4990 | 0.07 | 0.30 |"), std::string::npos) << text;
  EXPECT_NE(text.find("| a | 10000 | 8000 |"), std::string::npos) << text;
  EXPECT_NE(text.find("overloaded |"), std::string::npos) << text;
  EXPECT_NE(text.find("| a | plaintext_latency | 10 | 5000 | 10000 | 10000 | ok |"), std::string::npos) << text;
  EXPECT_NE(text.find("- a plaintext_latency 7500 req/s (capacity search) rep 1: lab_load exited with 2"),
            std::string::npos) << text;
  // No closed-loop table for an open scenario.
  EXPECT_EQ(text.find("1024 connections"), std::string::npos) << text;
}
