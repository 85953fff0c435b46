// The results document (docs/results-schema.md, kind "service"): atomic writing, the keys that
// identify a measurement (for --resume), aggregation over repetitions, and a schema check.
// Pure functions over nlohmann::json except the file I/O; thread-compatible.
#pragma once

#include <compare>
#include <filesystem>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>

namespace lab {

inline constexpr int results_schema_version = 1;

struct results_error : std::runtime_error {
  using runtime_error::runtime_error;
};

// Writes `doc` to `file` through file.tmp + fsync + rename, so a reader (or a harness killed at
// any moment) only ever sees the previous or the new complete document.
void write_json_atomically(const std::filesystem::path& file, const nlohmann::json& doc);

// Reads a results.json; throws results_error if unreadable, not JSON, or another schema version.
nlohmann::json load_results(const std::filesystem::path& file);

// One measurement: (server, scenario, connections, pipeline, repetition).
struct measurement_key {
  std::string server, scenario;
  int connections = 0, pipeline = 1, repetition = 0;
  auto operator<=>(const measurement_key&) const = default;
  bool operator==(const measurement_key&) const = default;
  std::string describe() const;
};

measurement_key key_of(const nlohmann::json& measurement);

// Keys of measurements with status "ok": what --resume must not redo.
std::set<measurement_key> finished_measurements(const nlohmann::json& doc);

// Drops measurements that did not finish ("failed"), so a resumed run redoes them.
void drop_unfinished(nlohmann::json& doc);

// Aggregates (median/min/max over repetitions) of the ok measurements, one per
// (server, scenario, connections, pipeline), in first-seen order; flags as in the schema.
nlohmann::json make_aggregates(const nlohmann::json& measurements);

// Problems with a service results document (missing keys, wrong types); empty if valid.
std::vector<std::string> validate_service_results(const nlohmann::json& doc);

}  // namespace lab
