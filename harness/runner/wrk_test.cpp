// wrk behind the load_generator interface: report.lua's JSON parsed field by field (and
// refused when inconsistent), wrk's argv, and the request -> wrk job mapping.
#include "wrk.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

using nlohmann::json;

namespace {

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

TEST(RunnerWrkGenerator, MapsAClosedLevelToAJobAndRefusesARate) {
  lab::wrk_generator wrk("/repo/harness/runner/report.lua");
  EXPECT_EQ(wrk.name(), "wrk");
  lab::load_request request;
  request.url = "http://127.0.0.1:9/json";
  request.level = lab::load_level::closed_loop(256);
  request.duration_s = 2;
  request.pipeline = 16;
  request.cpus = {1};
  request.threads = 1;
  request.timeout_s = 5;
  request.logs = "/run/logs";
  request.log_stem = "s-json-c256-r0";
  const auto job = wrk.job_for(request);
  EXPECT_EQ(job.url, request.url);
  EXPECT_EQ(job.connections, 256);
  EXPECT_EQ(job.pipeline, 16);
  EXPECT_EQ(job.cpus, std::vector<int>{1});
  EXPECT_EQ(job.script, "/repo/harness/runner/report.lua");
  EXPECT_EQ(job.output, "/run/logs/s-json-c256-r0.wrk.json");
  EXPECT_EQ(job.console_log, "/run/logs/s-json-c256-r0.wrk.txt");
  request.level = lab::load_level::open_loop(1000, 64);
  EXPECT_THROW(wrk.job_for(request), lab::load_error);
}

TEST(RunnerWrkGenerator, ResultKeepsEveryWrkField) {
  lab::wrk_run run;
  run.result = lab::parse_wrk_report(sample_report);
  run.client_cpu_s = 1.5;
  run.wall_s = 2.2;
  const auto r = lab::to_load_result(run, 1);
  EXPECT_EQ(r.generator, "wrk");
  EXPECT_EQ(r.requests, 143868u);
  EXPECT_EQ(r.responses, 143868u);  // wrk counts completions
  EXPECT_EQ(r.bytes, 23162083u);
  EXPECT_NEAR(r.achieved_rps, 143868 / 2.101683, 1e-6);
  EXPECT_FALSE(r.offered_rate_rps);
  EXPECT_FALSE(r.send_lag);
  EXPECT_EQ(r.errors.total(), 15u);
  EXPECT_EQ(r.latency.p75, 248);
  EXPECT_EQ(r.latency.stdev, 121.218391);
  EXPECT_FALSE(r.latency.p99_99);
  EXPECT_EQ(r.latency.p99_9, 2285);
  EXPECT_EQ(r.client_cpu_s, 1.5);
  EXPECT_EQ(r.threads, 1);
}
