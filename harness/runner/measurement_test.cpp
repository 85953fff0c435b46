// The measurement record: identity and key (v1 and v2 records), the flags — computed in this
// one place — and the JSON form for wrk (every v1 field kept) and lab_load (the v2 additions);
// the downstream block of a /gateway scenario and its /stats parsing.
#include "measurement.h"

#include <gtest/gtest.h>

#include "downstream.h"
#include "results.h"
#include "test_support.h"

using nlohmann::json;

namespace {

lab::measurement sample(bool open) {
  lab::measurement m;
  m.identity.key = {"event_loop", open ? "plaintext_latency" : "plaintext", open ? "open" : "closed",
                    open ? 1024 : 256, 1, 0, open ? 10000.0 : 0.0};
  m.identity.model = "event_loop";
  m.identity.language = "cpp";
  m.identity.path = "/plaintext";
  m.identity.generator = open ? "lab_load" : "wrk";
  auto& l = m.load;
  l.generator = m.identity.generator;
  l.duration_s = 2;
  l.requests = 20000;
  l.responses = open ? 19980 : 20000;
  l.latency = {100, 150, 300, 900, 2000, 120, std::nullopt, std::nullopt, std::nullopt};
  if (open) {
    l.offered_rate_rps = 10000;
    l.achieved_rps = 9990;
    l.send_lag = lab::send_lag_summary{3, 40, 900};
    l.latency.p99_99 = 1500;
    l.arrivals = "uniform";
    l.connections_opened = 37;
    l.histogram_file = "/runs/r1/logs/event_loop-plaintext_latency-rate10000-r0.lab_load.json";
  } else {
    l.achieved_rps = 10000;
    l.bytes = 2600000;
    l.latency.p75 = 120;
    l.latency.stdev = 30;
    l.latency_reachable_fraction = 1;
  }
  l.client_cpu_s = 1.0;
  l.wall_s = 2.0;
  l.threads = 1;
  m.server.cpu_user_s = 0.2;
  m.server.cpu_sys_s = 0.2;
  m.client_cpus = 1;
  return m;
}

}  // namespace

TEST(RunnerMeasurementFlags, ClosedLoopKeepsTheV1Rules) {
  lab::flag_inputs in;
  in.client_utilization = 0.89;
  EXPECT_EQ(lab::measurement_flags(in), std::vector<std::string>{});
  in.client_utilization = 0.90;
  in.errors = 1;
  in.starved = true;
  EXPECT_EQ(lab::measurement_flags(in), (std::vector<std::string>{"client_bound", "errors", "starved"}));
  // Closed loop is never "overloaded": there is no offered rate.
  in.offered_rps = 1000;
  in.achieved_rps = 10;
  EXPECT_EQ(lab::measurement_flags(in).size(), 3u);
}

TEST(RunnerMeasurementFlags, OpenLoopOverloadedAndClientBoundBySendLag) {
  lab::flag_inputs in;
  in.open = true;
  in.offered_rps = 10000;
  in.achieved_rps = 9500;  // exactly 95 %: kept up
  in.send_lag_p99_us = 1000;  // exactly 1 ms: on schedule
  in.client_utilization = 0.99;  // busy, but on schedule: not the limit
  EXPECT_EQ(lab::measurement_flags(in), std::vector<std::string>{});
  in.achieved_rps = 9499;
  in.send_lag_p99_us = 1001;
  EXPECT_EQ(lab::measurement_flags(in), (std::vector<std::string>{"client_bound", "overloaded"}));
  // lab_load in closed mode (no send lag) falls back to the CPU rule.
  in.send_lag_p99_us.reset();
  EXPECT_TRUE(lab::is_client_bound(in));
  in.client_utilization = 0.5;
  EXPECT_FALSE(lab::is_client_bound(in));
}

TEST(RunnerMeasurementKey, DescribesAndReadsV1AndV2Records) {
  lab::measurement_key closed{"a", "plaintext", "closed", 16, 1, 0, 0};
  EXPECT_EQ(closed.describe(), "a plaintext c=16 rep 1");
  lab::measurement_key open{"a", "lat", "open", 1024, 1, 2, 5000};
  EXPECT_EQ(open.describe(), "a lat 5000 req/s rep 3");
  lab::measurement_key piped{"a", "p", "closed", 256, 16, 0, 0};
  EXPECT_EQ(piped.describe(), "a p c=256 pipeline=16 rep 1");
  // A v1 record has no load and no rate: closed loop.
  json v1 = {{"server", "a"}, {"scenario", "plaintext"}, {"connections", 16}, {"pipeline", 1}, {"repetition", 0}};
  EXPECT_EQ(lab::key_of(v1), closed);
  auto m = sample(true);
  EXPECT_EQ(lab::key_of(m.to_json("/runs/r1")), m.identity.key);
  // Two rates of the same scenario are two measurements.
  auto other = m.identity.key;
  other.rate = 5000;
  EXPECT_NE(other, m.identity.key);
}

TEST(RunnerMeasurementJson, WrkRecordKeepsEveryV1Field) {
  auto m = sample(false);
  auto j = m.to_json("/runs/r1");
  for (const char* k : {"server", "model", "language", "scenario", "path", "connections", "pipeline",
                        "repetition", "duration_s", "status", "reason", "requests", "bytes",
                        "requests_per_s", "wrk_threads", "latency_us", "latency_reachable_fraction",
                        "errors", "server_stats", "client", "client_bound", "canary", "flags"})
    EXPECT_TRUE(j.contains(k)) << k;
  for (const char* k : {"p50", "p75", "p90", "p99", "p99_9", "max", "mean", "stdev"})
    EXPECT_TRUE(j["latency_us"].contains(k)) << k;
  EXPECT_EQ(j["load"], "closed");
  EXPECT_EQ(j["generator"], "wrk");
  EXPECT_TRUE(j["rate"].is_null());
  EXPECT_TRUE(j["offered_rate_rps"].is_null());
  EXPECT_FALSE(j.contains("send_lag_us"));
  EXPECT_FALSE(j.contains("histogram_file"));
  EXPECT_EQ(j["requests"], 20000);
  EXPECT_EQ(j["server_stats"]["cpu_us_per_request"], 0.4 * 1e6 / 20000);
  EXPECT_EQ(j["client"]["cpu_utilization"], 0.5);
  EXPECT_EQ(j["flags"], json::array());
}

TEST(RunnerMeasurementJson, LabLoadRecordHasTheV2Fields) {
  auto m = sample(true);
  auto j = m.to_json("/runs/r1");
  EXPECT_EQ(j["load"], "open");
  EXPECT_EQ(j["generator"], "lab_load");
  EXPECT_EQ(j["rate"], 10000.0);
  EXPECT_EQ(j["offered_rate_rps"], 10000.0);
  EXPECT_EQ(j["requests_per_s"], 9990.0);
  EXPECT_EQ(j["requests"], 19980);       // answered: what CPU per request divides by
  EXPECT_EQ(j["requests_sent"], 20000);
  EXPECT_EQ(j["arrivals"], "uniform");
  EXPECT_EQ(j["connections_opened"], 37);
  EXPECT_EQ(j["send_lag_us"], json({{"p50", 3.0}, {"p99", 40.0}, {"max", 900.0}}));
  EXPECT_EQ(j["latency_us"]["p99_99"], 1500.0);
  EXPECT_FALSE(j["latency_us"].contains("p75"));
  EXPECT_EQ(j["histogram_file"], "logs/event_loop-plaintext_latency-rate10000-r0.lab_load.json");
  EXPECT_EQ(j["generator_threads"], 1);
  EXPECT_FALSE(j.contains("wrk_threads"));
  EXPECT_EQ(j["server_stats"]["cpu_us_per_request"], 0.4 * 1e6 / 19980);
  EXPECT_EQ(j["flags"], json::array());
  m.load.achieved_rps = 8000;
  m.starved = true;
  EXPECT_EQ(m.to_json("/runs/r1")["flags"], json({"starved", "overloaded"}));
  m.identity.search_step = true;
  m.identity.rate_fraction = 0.123456;
  j = m.to_json("/runs/r1");
  EXPECT_EQ(j["search_step"], true);
  EXPECT_EQ(j["rate_fraction"], 0.1235);
  // The record passes the schema check inside a document.
  json doc = lab::testing::minimal_doc();
  doc["measurements"] = {j, sample(false).to_json("/runs/r1")};
  doc["aggregates"] = lab::make_aggregates(doc["measurements"]);
  EXPECT_EQ(lab::validate_service_results(doc), std::vector<std::string>{});
}

TEST(RunnerMeasurementJson, FailedRecordCarriesOnlyIdentityReasonAndFlags) {
  auto m = sample(true);
  m.identity.key.rate = 0;  // a fraction whose probe never ran
  m.identity.rate_fraction = 0.5;
  auto j = lab::failed_measurement_json(m.identity, "capacity probe failed: x", false);
  EXPECT_EQ(j["status"], "failed");
  EXPECT_EQ(j["reason"], "capacity probe failed: x");
  EXPECT_TRUE(j["rate"].is_null());
  EXPECT_EQ(j["rate_fraction"], 0.5);
  EXPECT_EQ(j["flags"], json::array());
  EXPECT_FALSE(j.contains("requests_per_s"));
  EXPECT_EQ(lab::failed_measurement_json(sample(false).identity, "died", true)["flags"], json({"server_died"}));
}

TEST(RunnerMeasurementUsage, DifferencesBetweenFirstAndLastSample) {
  std::vector<lab::timed_sample> samples(3);
  samples[0] = {0.0, {}};
  samples[0].sample.utime_s = 1.0;
  samples[0].sample.rss_kb = 100;
  samples[0].sample.voluntary_ctxt_switches = 10;
  samples[1] = {0.1, samples[0].sample};
  samples[1].sample.rss_kb = 300;
  samples[1].sample.threads = 4;
  samples[2] = {0.2004, samples[0].sample};
  samples[2].sample.utime_s = 1.5;
  samples[2].sample.stime_s = 0.25;
  samples[2].sample.rss_kb = 200;
  samples[2].sample.hwm_kb = 310;
  samples[2].sample.voluntary_ctxt_switches = 15;
  samples[2].sample.processes = 2;
  const auto u = lab::usage_from_samples(samples);
  EXPECT_DOUBLE_EQ(u.cpu_user_s, 0.5);
  EXPECT_DOUBLE_EQ(u.cpu_sys_s, 0.25);
  EXPECT_EQ(u.rss_peak_kb, 300u);
  EXPECT_EQ(u.vm_hwm_kb, 310u);
  EXPECT_EQ(u.threads_max, 4);
  EXPECT_EQ(u.processes, 2);
  EXPECT_EQ(u.voluntary_ctxt_switches, 5u);
  EXPECT_EQ(u.rss_samples.size(), 3u);
  EXPECT_EQ(u.rss_samples[2], json({0.2, 200}));
}

TEST(RunnerMeasurementFlags, DownstreamBoundAtNinetyPerCentOfItsCpus) {
  lab::flag_inputs in;
  in.downstream_utilization = 0.89;
  EXPECT_EQ(lab::measurement_flags(in), std::vector<std::string>{});
  in.downstream_utilization = 0.90;
  in.errors = 2;
  EXPECT_EQ(lab::measurement_flags(in), (std::vector<std::string>{"errors", "downstream_bound"}));
  in.downstream_utilization.reset();  // no downstream: never
  EXPECT_EQ(lab::measurement_flags(in), std::vector<std::string>{"errors"});
}

TEST(RunnerMeasurementJson, GatewayRecordHasTheDownstreamBlock) {
  auto m = sample(false);
  m.identity.key.scenario = "fanout4_parallel";
  m.identity.path = "/gateway?fanout=4&ms=10&mode=parallel";
  m.load.responses = 1990;
  m.canary.responses = 10;
  lab::downstream_usage d;
  d.delay = "fixed";
  d.threads = 1;
  std::vector<lab::timed_sample> samples(2);
  samples[0] = {0.0, {}};
  samples[0].sample.utime_s = 3.0;
  samples[1] = {2.0, samples[0].sample};
  samples[1].sample.utime_s = 3.5;
  samples[1].sample.stime_s = 0.3;
  lab::add_samples(d, samples);
  EXPECT_DOUBLE_EQ(d.cpu_s, 0.8);
  EXPECT_DOUBLE_EQ(d.wall_s, 2.0);
  d.cpus = 1;
  d.calls = 8000;
  d.cancelled = 3;
  d.in_flight_after = 12;
  m.downstream = d;
  EXPECT_EQ(m.gateway_requests(), 2000u);  // the generator's answers and the canary's
  auto j = m.to_json("/runs/r1");
  const json& ds = j["downstream"];
  EXPECT_EQ(ds["delay"], "fixed");
  EXPECT_EQ(ds["threads"], 1);
  EXPECT_DOUBLE_EQ(ds["cpu_s"].get<double>(), 0.8);
  EXPECT_DOUBLE_EQ(ds["cpu_utilization"].get<double>(), 0.4);
  EXPECT_EQ(ds["calls"], 8000);
  EXPECT_DOUBLE_EQ(ds["calls_per_request"].get<double>(), 4.0);
  EXPECT_EQ(ds["cancelled"], 3);
  EXPECT_EQ(ds["in_flight_after"], 12);
  EXPECT_EQ(j["flags"], json::array());
  // Its CPUs 90 % busy: downstream_bound. Two threads on two client CPUs halve the share.
  m.downstream->cpu_s = 1.8;
  EXPECT_EQ(m.to_json("/runs/r1")["flags"], json({"downstream_bound"}));
  m.downstream->threads = m.downstream->cpus = 2;
  EXPECT_DOUBLE_EQ(m.to_json("/runs/r1")["downstream"]["cpu_utilization"].get<double>(), 0.45);
  EXPECT_EQ(m.to_json("/runs/r1")["flags"], json::array());
  // No answers at all: no ratio.
  m.load.responses = 0;
  m.canary.responses = 0;
  EXPECT_TRUE(m.to_json("/runs/r1")["downstream"]["calls_per_request"].is_null());
  // Without a downstream the record has no block.
  EXPECT_FALSE(sample(false).to_json("/runs/r1").contains("downstream"));
  // The record passes the schema check, and the aggregate carries its flag and ratio.
  m.load.responses = 1990;
  m.canary.responses = 10;
  m.downstream->cpus = 1;
  json doc = lab::testing::minimal_doc();
  doc["measurements"] = json::array({m.to_json("/runs/r1")});
  doc["aggregates"] = lab::make_aggregates(doc["measurements"]);
  EXPECT_EQ(lab::validate_service_results(doc), std::vector<std::string>{});
  const json& a = doc["aggregates"][0];
  EXPECT_EQ(a["flags"], json({"downstream_bound"}));
  EXPECT_DOUBLE_EQ(a["downstream_calls_per_request"]["median"].get<double>(), 8000.0 / 2000);
  EXPECT_DOUBLE_EQ(a["downstream_cpu_utilization"]["median"].get<double>(), 0.9);
  // A malformed block is named.
  doc["measurements"][0]["downstream"].erase("calls");
  doc["measurements"][0]["downstream"]["cpu_s"] = "x";
  const auto problems = lab::validate_service_results(doc);
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find("measurements[0].downstream."), std::string::npos) << problems[0];
}

TEST(RunnerDownstream, StatsBodyParsedOrRefused) {
  const auto s = lab::parse_downstream_stats(R"({"served":12,"in_flight":3,"cancelled":1})");
  EXPECT_EQ(s.served, 12u);
  EXPECT_EQ(s.in_flight, 3u);
  EXPECT_EQ(s.cancelled, 1u);
  EXPECT_THROW(lab::parse_downstream_stats(R"({"served":12,"in_flight":3})"), std::runtime_error);
  EXPECT_THROW(lab::parse_downstream_stats(R"({"served":-1,"in_flight":3,"cancelled":0})"), std::runtime_error);
  EXPECT_THROW(lab::parse_downstream_stats("Not Found"), std::runtime_error);
  const auto spec = lab::downstream_spec({"tail:0.01:100", 2});
  EXPECT_EQ(spec.start, (std::vector<std::string>{"{bin}/downstream", "--host", "{host}", "--port", "{port}",
                                                  "--threads", "2", "--delay", "tail:0.01:100",
                                                  "--idle-timeout", "3600"}));
  EXPECT_EQ(spec.built_file, "{bin}/downstream");
}
