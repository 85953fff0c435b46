// lab_load behind the load_generator interface: its --json report (the documented fields)
// parsed and refused when incomplete or inconsistent, and its command line.
#include "lab_load_generator.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <nlohmann/json.hpp>

using nlohmann::json;

namespace {

json open_report() {
  return {{"tool", "lab_load"}, {"version", 1}, {"mode", "open"},
          {"url", "http://127.0.0.1:8080/plaintext"}, {"offered_rate", 10000},
          {"achieved_rate", 9985.5}, {"duration_s", 2.0}, {"connections_cap", 1024},
          {"connections_opened", 37}, {"threads", 1}, {"arrivals", "uniform"}, {"seed", 1},
          {"requests", 19990},
          {"responses", 19971},
          {"errors", {{"connect", 0}, {"read", 1}, {"write", 0}, {"timeout", 2}, {"status", 3}}},
          {"send_lag_us", {{"p50", 3}, {"p99", 40}, {"max", 900}}},
          {"latency_us", {{"p50", 120}, {"p90", 180}, {"p99", 410}, {"p99_9", 2300},
                          {"p99_99", 5100}, {"max", 7000}, {"mean", 140.5}}},
          {"histogram", {{"layout", {{"sub_bucket_bits", 7}}}, {"counts", json::array()}}},
          {"client_cpu_s", 1.2}, {"wall_s", 2.01}};
}

}  // namespace

TEST(RunnerLabLoad, ParsesAnOpenLoopReport) {
  const auto r = lab::parse_lab_load_report(open_report().dump(), "/run/logs/x.lab_load.json");
  EXPECT_EQ(r.generator, "lab_load");
  EXPECT_EQ(r.offered_rate_rps, 10000);
  EXPECT_DOUBLE_EQ(r.reported_achieved_rps.value(), 9985.5);
  EXPECT_DOUBLE_EQ(r.achieved_rps, 19971 / 2.01);  // over the window and the drain
  EXPECT_EQ(r.window_and_drain_s, 2.01);
  EXPECT_EQ(r.duration_s, 2.0);
  EXPECT_EQ(r.connections_opened, 37u);
  EXPECT_EQ(r.threads, 1);
  EXPECT_EQ(r.arrivals, "uniform");
  EXPECT_FALSE(r.first_error);
  EXPECT_EQ(r.requests, 19990u);
  EXPECT_EQ(r.responses, 19971u);
  EXPECT_EQ(r.errors.read, 1u);
  EXPECT_EQ(r.errors.timeout, 2u);
  EXPECT_EQ(r.errors.status, 3u);
  EXPECT_EQ(r.errors.total(), 6u);
  ASSERT_TRUE(r.send_lag);
  EXPECT_EQ(r.send_lag->p50, 3);
  EXPECT_EQ(r.send_lag->p99, 40);
  EXPECT_EQ(r.send_lag->max, 900);
  EXPECT_EQ(r.latency.p50, 120);
  EXPECT_EQ(r.latency.p90, 180);
  EXPECT_EQ(r.latency.p99, 410);
  EXPECT_EQ(r.latency.p99_9, 2300);
  EXPECT_EQ(r.latency.p99_99, 5100);
  EXPECT_EQ(r.latency.max, 7000);
  EXPECT_DOUBLE_EQ(r.latency.mean, 140.5);
  EXPECT_FALSE(r.latency.p75);   // lab_load does not report it
  EXPECT_FALSE(r.latency.stdev);
  EXPECT_EQ(r.client_cpu_s, 1.2);
  EXPECT_EQ(r.histogram_file, std::filesystem::path("/run/logs/x.lab_load.json"));
  EXPECT_FALSE(r.bytes);
}

TEST(RunnerLabLoad, AnswersThatCameDuringTheDrainDoNotHideAServerFallingBehind) {
  // 10,000 req/s offered for 1 s to a server that needs 2 s to answer them all: lab_load's
  // achieved_rate (responses / window) says 10,000, the harness's 5,000.
  auto j = open_report();
  j["duration_s"] = 1.0;
  j["wall_s"] = 2.0;
  j["requests"] = j["responses"] = 10000;
  j["errors"] = {{"connect", 0}, {"read", 0}, {"write", 0}, {"timeout", 0}, {"status", 0}};
  j["achieved_rate"] = 10000;
  const auto r = lab::parse_lab_load_report(j.dump());
  EXPECT_EQ(r.achieved_rps, 5000);
  EXPECT_EQ(r.reported_achieved_rps, 10000);
}

TEST(RunnerLabLoad, ClosedModeHasNoOfferedRateOrSendLag) {
  auto j = open_report();
  j["mode"] = "closed";
  j["offered_rate"] = nullptr;
  j.erase("send_lag_us");
  j.erase("arrivals");
  const auto r = lab::parse_lab_load_report(j.dump());
  EXPECT_FALSE(r.offered_rate_rps);
  EXPECT_FALSE(r.send_lag);
  EXPECT_EQ(r.arrivals, "");
  EXPECT_FALSE(r.histogram_file);
  EXPECT_EQ(r.responses, 19971u);
}

TEST(RunnerLabLoad, RefusesIncompleteOrInconsistentReports) {
  auto expect_error = [](const json& j, const std::string& needle) {
    try {
      lab::parse_lab_load_report(j.dump());
      ADD_FAILURE() << "no error for " << j.dump();
    } catch (const lab::load_error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  EXPECT_THROW(lab::parse_lab_load_report("{not json"), lab::load_error);
  auto j = open_report();
  j["tool"] = "wrk";
  expect_error(j, "tool is not \"lab_load\"");
  j = open_report();
  j["version"] = 2;
  expect_error(j, "version is not 1");
  j = open_report();
  j["latency_us"].erase("p99_99");
  expect_error(j, "latency_us.p99_99 missing");
  j = open_report();
  j["errors"].erase("timeout");
  expect_error(j, "errors.timeout missing");
  j = open_report();
  j.erase("send_lag_us");
  expect_error(j, "send_lag_us missing");
  j = open_report();
  j["offered_rate"] = nullptr;
  expect_error(j, "offered_rate missing or not a number");
  j = open_report();
  j["latency_us"]["p99"] = 99999;  // above p99.9: percentiles out of order
  expect_error(j, "percentiles are not ordered");
  j = open_report();
  j["responses"] = 30000;
  expect_error(j, "responses exceeds requests");
  j = open_report();
  j["requests"] = 1.5;
  expect_error(j, "requests is not a count");
  j = open_report();
  j["arrivals"] = 20000;
  expect_error(j, "arrivals missing or not a string");
  // Nothing answered (exit status 1): latency is null; the run is data (errors), not a failure.
  j = open_report();
  j["responses"] = 0;
  j["achieved_rate"] = 0;
  j["errors"]["connect"] = 19990;
  j["latency_us"] = nullptr;
  j["first_error"] = "connection refused";
  const auto none = lab::parse_lab_load_report(j.dump());
  EXPECT_EQ(none.responses, 0u);
  EXPECT_EQ(none.latency.p99, 0);
  EXPECT_EQ(none.first_error, "connection refused");
  EXPECT_EQ(none.errors.connect, 19990u);
  // ... but a null latency with responses is inconsistent.
  j["responses"] = 5;
  expect_error(j, "latency_us missing or not an object");
}

TEST(RunnerLabLoad, CommandLineForOpenAndClosedLevels) {
  lab::load_request r;
  r.url = "http://127.0.0.1:9/sleep?ms=10";
  r.level = lab::load_level::open_loop(12500, 1024);
  r.duration_s = 2;
  r.threads = 1;
  r.timeout_s = 5;
  auto argv = lab::lab_load_argv("/bin/lab_load", r, "/logs/a.lab_load.json");
  const std::vector<std::string> expected = {"/bin/lab_load", "--url", r.url, "--rate", "12500",
                                             "--connections", "1024", "--duration", "2", "--threads", "1",
                                             "--timeout", "5", "--json", "/logs/a.lab_load.json"};
  EXPECT_EQ(argv, expected);
  r.level = lab::load_level::open_loop(2500.5, 64);
  argv = lab::lab_load_argv("/bin/lab_load", r, "");
  EXPECT_NE(std::find(argv.begin(), argv.end(), "2500.500"), argv.end());  // never 2.5e+03
  EXPECT_EQ(std::find(argv.begin(), argv.end(), "--json"), argv.end());
  r.level = lab::load_level::closed_loop(16);
  argv = lab::lab_load_argv("/bin/lab_load", r, "");
  EXPECT_EQ(std::find(argv.begin(), argv.end(), "--rate"), argv.end());  // closed: no rate
  EXPECT_NE(std::find(argv.begin(), argv.end(), "16"), argv.end());
  r.level = lab::load_level::open_loop(0, 64);
  EXPECT_THROW(lab::lab_load_argv("/bin/lab_load", r, ""), lab::load_error);
}
