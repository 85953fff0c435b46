// The results document (docs/results-schema.md, kind "service", schema version 2): atomic
// writing, reading (v1 files too, upgraded for --resume), aggregation over repetitions, a
// schema check, and run_document — the open document of a run that blocks add measurements,
// capacity probes and capacity results to, saved atomically after every addition.
// Pure functions over nlohmann::json except the file I/O; thread-compatible.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "measurement.h"

namespace lab {

inline constexpr int results_schema_version = 2;

struct results_error : std::runtime_error {
  using runtime_error::runtime_error;
};

// Writes `doc` to `file` through file.tmp + fsync + rename, so a reader (or a harness killed at
// any moment) only ever sees the previous or the new complete document.
void write_json_atomically(const std::filesystem::path& file, const nlohmann::json& doc);

// Reads a results.json of schema version 1 or 2 as it is; throws results_error if unreadable,
// not JSON, another version or another kind.
nlohmann::json load_results(const std::filesystem::path& file);

// Brings a v1 document to v2 in place (what --resume of a v1 run does): every v1 measurement
// was closed loop with wrk, so each gets load "closed", generator "wrk", rate and
// offered_rate_rps null; the empty v2 arrays are added and "upgraded_from_schema": 1 records
// it. A v2 document is left alone.
void upgrade_results(nlohmann::json& doc);

// Keys of measurements with status "ok": what --resume must not redo.
std::set<measurement_key> finished_measurements(const nlohmann::json& doc);

// The req/s of every ok capacity probe, by (server, scenario).
std::map<std::pair<std::string, std::string>, double> recorded_probes(const nlohmann::json& doc);

// Drops what did not finish — failed measurements and failed capacity probes — so a resumed
// run redoes them. Capacity results are dropped too when any measurement of theirs was dropped.
void drop_unfinished(nlohmann::json& doc);

// Aggregates (median/min/max over repetitions) of the ok measurements except capacity-search
// steps, one per (server, scenario, load, connections, rate, pipeline), in first-seen order;
// flags as in the schema.
nlohmann::json make_aggregates(const nlohmann::json& measurements);

// Problems with a service results document (missing keys, wrong types); empty if valid.
// Checks v1 documents as v1 and v2 documents with their additions.
std::vector<std::string> validate_service_results(const nlohmann::json& doc);

// The document of a run being written (single-threaded).
class run_document {
 public:
  run_document(nlohmann::json doc, std::filesystem::path folder)
      : doc_(std::move(doc)), folder_(std::move(folder)) {}

  nlohmann::json& doc() { return doc_; }
  const nlohmann::json& doc() const { return doc_; }
  const std::filesystem::path& folder() const { return folder_; }
  std::filesystem::path file() const { return folder_ / "results.json"; }

  // Recomputes the aggregates and rewrites results.json atomically.
  void save();

  // servers[] entry by name; throws std::logic_error if absent.
  nlohmann::json& server_entry(const std::string& name);

  // Appends a measurement record (ok or failed) and saves.
  void add_measurement(nlohmann::json record);

  // The capacity probe of (server, scenario) with status "ok": its requests/s.
  std::optional<double> probe_rps(const std::string& server, const std::string& scenario) const;
  void add_probe(nlohmann::json probe);  // and saves

  // The capacity result of (server, scenario), or null.
  const nlohmann::json* capacity(const std::string& server, const std::string& scenario) const;
  void add_capacity(nlohmann::json entry);  // and saves

  // Ok measurements of (server, scenario, repetition), in the order they were recorded.
  std::vector<const nlohmann::json*> measurements_of(const std::string& server,
                                                     const std::string& scenario,
                                                     int repetition) const;

 private:
  nlohmann::json doc_;
  std::filesystem::path folder_;
};

}  // namespace lab
