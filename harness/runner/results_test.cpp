// The results document: atomic rewrite, reading v1 and v2 (and upgrading v1 for --resume),
// dropping what did not finish, aggregates (closed and open loop, search steps left out), the
// schema check, and run_document.
#include "results.h"

#include <gtest/gtest.h>

#include "test_support.h"

using nlohmann::json;
using namespace lab::testing;

namespace {

json measurement(const std::string& server, int c, int rep, double rps, const std::string& status = "ok",
                 bool client_bound = false) {
  return closed_measurement(server, c, rep, rps, status, client_bound);
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
  EXPECT_FALSE(std::filesystem::exists(dir / "results.json.tmp"));
  // A stale temp file from a killed writer does not affect the real one.
  std::ofstream(dir / "results.json.tmp") << "{ half";
  EXPECT_EQ(lab::load_results(file)["measurements"].size(), 1u);
  lab::write_json_atomically(file, doc);
  EXPECT_EQ(lab::load_results(file)["measurements"].size(), 1u);
  // Version 1 is read (the scripts and --resume read it); others are refused.
  doc["schema_version"] = 1;
  lab::write_json_atomically(file, doc);
  EXPECT_EQ(lab::load_results(file)["schema_version"], 1);
  doc["schema_version"] = 3;
  lab::write_json_atomically(file, doc);
  EXPECT_THROW(lab::load_results(file), lab::results_error);
  std::filesystem::remove_all(dir);
}

// A results folder from a newer lab: refused with a sentence that says so, and not touched
// (a resume must never rewrite what it cannot read).
TEST(RunnerResults, NewerSchemaIsRefusedClearlyAndLeftAsItIs) {
  auto dir = temp_dir("newer");
  auto file = dir / "results.json";
  json doc = minimal_doc();
  doc["schema_version"] = lab::results_schema_version + 1;
  doc["from_the_future"] = "kept";
  lab::write_json_atomically(file, doc);
  std::ifstream before_in(file);
  const std::string before((std::istreambuf_iterator<char>(before_in)), {});
  try {
    lab::load_results(file);
    FAIL() << "a newer schema was read";
  } catch (const lab::results_error& e) {
    EXPECT_NE(std::string(e.what()).find("written by a newer lab"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(file.string()), std::string::npos) << e.what();
  }
  std::ifstream after_in(file);
  const std::string after((std::istreambuf_iterator<char>(after_in)), {});
  EXPECT_EQ(before, after);
  std::filesystem::remove_all(dir);
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

TEST(RunnerResults, UpgradesAV1DocumentForResume) {
  json doc = minimal_doc();
  doc["schema_version"] = 1;
  doc.erase("probes");
  doc.erase("capacity");
  doc["suite"]["scenarios"] = {{{"name", "plaintext"}, {"path", "/plaintext"}, {"pipeline", 1}, {"connections", {16}}}};
  auto v1 = measurement("a", 16, 0, 100);
  for (const char* k : {"load", "generator", "rate", "offered_rate_rps"}) v1.erase(k);
  doc["measurements"] = {v1};
  doc["aggregates"] = lab::make_aggregates(doc["measurements"]);
  EXPECT_EQ(lab::validate_service_results(doc), std::vector<std::string>{});  // valid as v1
  lab::upgrade_results(doc);
  EXPECT_EQ(doc["schema_version"], lab::results_schema_version);
  EXPECT_EQ(doc["upgraded_from_schema"], 1);
  EXPECT_EQ(doc["measurements"][0]["load"], "closed");
  EXPECT_EQ(doc["measurements"][0]["generator"], "wrk");
  EXPECT_TRUE(doc["measurements"][0]["rate"].is_null());
  EXPECT_EQ(doc["suite"]["scenarios"][0]["load"], "closed");
  doc["aggregates"] = lab::make_aggregates(doc["measurements"]);
  EXPECT_EQ(lab::validate_service_results(doc), std::vector<std::string>{});
  EXPECT_EQ(lab::finished_measurements(doc).size(), 1u);
  const json before = doc;
  lab::upgrade_results(doc);  // a v2 document is left alone
  EXPECT_EQ(doc, before);
}

TEST(RunnerResults, DropUnfinishedRedoesFailedProbesAndStaleCapacity) {
  json doc = minimal_doc();
  auto failed = open_measurement("a", 5000, 0, 0, 0);
  failed = {{"server", "a"}, {"scenario", "plaintext_latency"}, {"load", "open"}, {"rate", 5000},
            {"connections", 1024}, {"pipeline", 1}, {"repetition", 0}, {"status", "failed"}};
  doc["measurements"] = {open_measurement("a", 2500, 0, 2500, 100), failed,
                         open_measurement("b", 2500, 0, 2500, 100)};
  doc["probes"] = {{{"server", "a"}, {"scenario", "plaintext_latency"}, {"status", "ok"}, {"requests_per_s", 10000}},
                   {{"server", "b"}, {"scenario", "plaintext_latency"}, {"status", "failed"}, {"requests_per_s", nullptr}}};
  doc["capacity"] = {{{"server", "a"}, {"scenario", "plaintext_latency"}},
                     {{"server", "b"}, {"scenario", "plaintext_latency"}}};
  lab::drop_unfinished(doc);
  EXPECT_EQ(doc["measurements"].size(), 2u);
  ASSERT_EQ(doc["probes"].size(), 1u);  // b's failed probe is redone
  EXPECT_EQ(doc["probes"][0]["server"], "a");
  ASSERT_EQ(doc["capacity"].size(), 1u);  // a's was computed without its failed point
  EXPECT_EQ(doc["capacity"][0]["server"], "b");
}

TEST(RunnerAggregates, OpenLoopGroupsByRateAndLeavesSearchStepsOut) {
  json ms = json::array({open_measurement("a", 5000, 0, 5000, 100), open_measurement("a", 5000, 1, 4000, 300, {"overloaded"}),
                         open_measurement("a", 10000, 0, 9000, 900),
                         open_measurement("a", 7500, 0, 7500, 200, json::array(), true),
                         measurement("a", 16, 0, 100)});
  auto aggs = lab::make_aggregates(ms);
  ASSERT_EQ(aggs.size(), 3u);  // 5000, 10000, closed c=16; the search step is not a sweep point
  EXPECT_EQ(aggs[0]["load"], "open");
  EXPECT_EQ(aggs[0]["rate"], 5000.0);
  EXPECT_EQ(aggs[0]["offered_rate_rps"], 5000.0);
  EXPECT_EQ(aggs[0]["repetitions"], 2);
  EXPECT_EQ(aggs[0]["requests_per_s"]["median"], 4500.0);
  EXPECT_EQ(aggs[0]["latency_p99_99_us"]["median"], 600.0);
  EXPECT_EQ(aggs[0]["flags"], json({"overloaded", "noisy"}));
  EXPECT_EQ(aggs[1]["rate"], 10000.0);
  EXPECT_EQ(aggs[2]["load"], "closed");
  EXPECT_TRUE(aggs[2]["rate"].is_null());
  EXPECT_FALSE(aggs[2].contains("latency_p99_99_us"));
}

TEST(RunnerResults, SchemaValidationOfTheV2Additions) {
  json doc = minimal_doc();
  doc["measurements"] = {open_measurement("a", 5000, 0, 5000, 100)};
  doc["aggregates"] = lab::make_aggregates(doc["measurements"]);
  doc["probes"] = {{{"server", "a"}, {"scenario", "plaintext_latency"}, {"path", "/plaintext"},
                    {"connections", 64}, {"status", "ok"}, {"requests_per_s", 10000}}};
  doc["capacity"] = {{{"server", "a"}, {"scenario", "plaintext_latency"}, {"slo_p99_ms", 10},
                      {"probe_rps", 10000}, {"capacity_rps", 5000}, {"first_failing_rps", nullptr},
                      {"points", {{{"rate", 5000}, {"p99_us", 100}, {"overloaded", false}, {"passed", true}}}},
                      {"status", "all_passed"}, {"reason", nullptr}}};
  EXPECT_EQ(lab::validate_service_results(doc), std::vector<std::string>{});
  doc["measurements"][0].erase("offered_rate_rps");
  doc["measurements"][0]["latency_us"].erase("p75");  // fine for lab_load
  doc["capacity"][0]["status"] = "great";
  doc["capacity"][0]["points"][0].erase("passed");
  auto problems = lab::validate_service_results(doc);
  EXPECT_EQ(problems, (std::vector<std::string>{"measurements[0].offered_rate_rps: missing",
                                                "capacity[0].status: not ok|none_passed|all_passed|failed",
                                                "capacity[0].points[0].passed: missing"}));
  // wrk records still need p75 and stdev.
  json closed = minimal_doc();
  closed["measurements"] = {measurement("a", 16, 0, 100)};
  closed["measurements"][0]["latency_us"].erase("stdev");
  EXPECT_EQ(lab::validate_service_results(closed),
            std::vector<std::string>{"measurements[0].latency_us.stdev: missing"});
}

TEST(RunnerResults, RunDocumentSavesEveryAdditionAndFindsWhatWasRecorded) {
  auto dir = temp_dir("document");
  json doc = minimal_doc();
  doc["servers"] = {{{"name", "a"}, {"model", "event_loop"}, {"language", "cpp"}, {"reference", false},
                     {"status", "ok"}, {"reason", nullptr}}};
  lab::run_document d(doc, dir);
  d.add_measurement(open_measurement("a", 5000, 0, 5000, 100));
  EXPECT_EQ(lab::load_results(d.file())["measurements"].size(), 1u);
  EXPECT_EQ(lab::load_results(d.file())["aggregates"].size(), 1u);
  EXPECT_FALSE(d.probe_rps("a", "plaintext_latency"));
  d.add_probe({{"server", "a"}, {"scenario", "plaintext_latency"}, {"path", "/plaintext"}, {"connections", 64},
               {"status", "failed"}, {"requests_per_s", nullptr}});
  EXPECT_FALSE(d.probe_rps("a", "plaintext_latency"));
  d.add_probe({{"server", "a"}, {"scenario", "plaintext_latency"}, {"path", "/plaintext"}, {"connections", 64},
               {"status", "ok"}, {"requests_per_s", 12345.0}});
  EXPECT_EQ(d.probe_rps("a", "plaintext_latency"), 12345.0);
  EXPECT_EQ(d.capacity("a", "plaintext_latency"), nullptr);
  d.add_capacity({{"server", "a"}, {"scenario", "plaintext_latency"}, {"slo_p99_ms", 10}, {"probe_rps", 12345.0},
                  {"capacity_rps", 5000}, {"first_failing_rps", nullptr}, {"points", json::array()},
                  {"status", "all_passed"}, {"reason", nullptr}});
  ASSERT_NE(d.capacity("a", "plaintext_latency"), nullptr);
  EXPECT_EQ(d.measurements_of("a", "plaintext_latency", 0).size(), 1u);
  EXPECT_EQ(d.measurements_of("a", "plaintext_latency", 1).size(), 0u);
  EXPECT_EQ(d.server_entry("a")["status"], "ok");
  EXPECT_THROW(d.server_entry("b"), std::logic_error);
  const auto saved = lab::load_results(d.file());
  EXPECT_EQ(saved["probes"].size(), 2u);
  EXPECT_EQ(saved["capacity"].size(), 1u);
  EXPECT_EQ(lab::validate_service_results(saved), std::vector<std::string>{});
  std::filesystem::remove_all(dir);
}
