#include "suite.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace lab {
namespace {

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item;
  }
  return out;
}

[[noreturn]] void fail(const std::string& source, const std::string& field, const std::string& why) {
  throw suite_error(source + ": " + field + ": " + why);
}

void check_fields(const nlohmann::json& j, const std::vector<std::string>& known,
                  const std::string& source, const std::string& where) {
  if (!j.is_object()) fail(source, where.empty() ? "(top level)" : where, "must be an object");
  for (const auto& [key, value] : j.items()) {
    if (std::find(known.begin(), known.end(), key) == known.end())
      fail(source, where + key, "unknown field; valid fields: " + join(known));
  }
}

double positive_number(const nlohmann::json& j, const char* key, double fallback, bool required,
                       const std::string& source, bool allow_zero) {
  if (!j.contains(key)) {
    if (required) fail(source, key, "missing (a number of seconds)");
    return fallback;
  }
  const auto& v = j.at(key);
  if (!v.is_number()) fail(source, key, "must be a number");
  double d = v.get<double>();
  if (d < 0 || (!allow_zero && d == 0)) fail(source, key, allow_zero ? "must be >= 0" : "must be > 0");
  return d;
}

int positive_int(const nlohmann::json& j, const char* key, int fallback, const std::string& source,
                 int minimum) {
  if (!j.contains(key)) return fallback;
  const auto& v = j.at(key);
  if (!v.is_number_integer() || v.get<long long>() < minimum)
    fail(source, key, "must be an integer >= " + std::to_string(minimum));
  return v.get<int>();
}

// A non-negative decimal number ("0.5", "100", "1e-3" is refused: digits and one point only).
std::optional<double> plain_number(const std::string& text) {
  if (!std::regex_match(text, std::regex("[0-9]+(\\.[0-9]+)?|\\.[0-9]+"))) return std::nullopt;
  return std::stod(text);
}

// "downstream": {"delay": "fixed" | "lognormal:SIGMA" | "tail:P:EXTRA_MS", "threads": N}.
downstream_config parse_downstream(const nlohmann::json& j, const std::string& source,
                                   const std::string& where) {
  check_fields(j, {"delay", "threads"}, source, where);
  downstream_config d;
  if (j.contains("delay")) {
    if (!j["delay"].is_string()) fail(source, where + "delay", "must be a string");
    d.delay = j["delay"];
    const std::string valid = "fixed, lognormal:SIGMA (SIGMA >= 0) or tail:P:EXTRA_MS (P in 0..1, EXTRA_MS >= 0)";
    std::smatch parts;
    bool ok = d.delay == "fixed";
    if (std::regex_match(d.delay, parts, std::regex("lognormal:([^:]+)")))
      ok = plain_number(parts[1]).has_value();
    else if (std::regex_match(d.delay, parts, std::regex("tail:([^:]+):([^:]+)"))) {
      auto p = plain_number(parts[1]);
      ok = p && *p <= 1 && plain_number(parts[2]).has_value();
    }
    if (!ok) fail(source, where + "delay", "\"" + d.delay + "\" is not " + valid);
  }
  if (j.contains("threads")) {
    const auto& t = j["threads"];
    if (!t.is_number_integer() || t.get<long long>() < 1 || t.get<long long>() > 64)
      fail(source, where + "threads", "must be an integer in 1..64");
    d.threads = t.get<int>();
  }
  return d;
}

nlohmann::json downstream_to_json(const downstream_config& d) {
  return {{"delay", d.delay}, {"threads", d.threads}};
}

}  // namespace

std::string downstream_config::describe() const {
  return delay + ", " + std::to_string(threads) + (threads == 1 ? " thread" : " threads");
}

bool needs_downstream(const suite& s) {
  return std::any_of(s.scenarios.begin(), s.scenarios.end(),
                     [](const scenario& sc) { return sc.downstream.has_value(); });
}

const char* to_string(load_kind kind) { return kind == load_kind::open ? "open" : "closed"; }

int scenario::connection_cap() const {
  return connections.empty() ? default_open_connection_cap : connections.front();
}

double measurement_seconds(const suite& s, const scenario& sc) {
  return sc.duration_s ? std::min(*sc.duration_s, s.duration_s) : s.duration_s;
}

size_t scenario::level_count() const {
  if (!is_open()) return connections.size();
  return rates.empty() ? rate_fractions.size() : rates.size();
}

suite parse_suite(const nlohmann::json& j, const std::string& source) {
  check_fields(j,
               {"name", "description", "duration_s", "warmup_s", "primer_s", "timeout_s",
                "repetitions", "startup_runs", "downstream", "scenarios"},
               source, "");
  suite s;
  if (!j.contains("name") || !j["name"].is_string() ||
      !std::regex_match(j["name"].get<std::string>(), std::regex("[a-z0-9_-]+")))
    fail(source, "name", "required, a string matching [a-z0-9_-]+");
  s.name = j["name"];
  if (j.contains("description")) {
    if (!j["description"].is_string()) fail(source, "description", "must be a string");
    s.description = j["description"];
  }
  s.duration_s = positive_number(j, "duration_s", 0, true, source, false);
  if (s.duration_s < 1 || s.duration_s != std::floor(s.duration_s))
    fail(source, "duration_s", "must be a whole number of seconds >= 1 (wrk's -d takes no fractions)");
  s.warmup_s = positive_number(j, "warmup_s", s.warmup_s, false, source, true);
  s.primer_s = positive_number(j, "primer_s", s.primer_s, false, source, true);
  s.timeout_s = positive_number(j, "timeout_s", s.timeout_s, false, source, false);
  if (s.timeout_s < 1 || s.timeout_s != std::floor(s.timeout_s))
    fail(source, "timeout_s", "must be a whole number of seconds >= 1 (wrk's --timeout takes no fractions)");
  s.repetitions = positive_int(j, "repetitions", 1, source, 1);
  s.startup_runs = positive_int(j, "startup_runs", 10, source, 0);
  // The suite's downstream is every scenario's unless the scenario names its own.
  std::optional<downstream_config> suite_downstream;
  if (j.contains("downstream")) suite_downstream = parse_downstream(j["downstream"], source, "downstream.");

  if (!j.contains("scenarios") || !j["scenarios"].is_array() || j["scenarios"].empty())
    fail(source, "scenarios", "required, a non-empty array");
  std::set<std::string> names;
  for (size_t i = 0; i < j["scenarios"].size(); ++i) {
    const auto& sj = j["scenarios"][i];
    const std::string where = "scenarios[" + std::to_string(i) + "].";
    check_fields(sj,
                 {"name", "path", "load", "generator", "pipeline", "connections", "wrk_threads",
                  "rates", "rate_fractions", "slo_p99_ms", "capacity_search", "probe", "duration_s",
                  "downstream"},
                 source, where);
    scenario sc;
    if (!sj.contains("name") || !sj["name"].is_string() ||
        !std::regex_match(sj["name"].get<std::string>(), std::regex("[a-z0-9_]+")))
      fail(source, where + "name", "required, a string matching [a-z0-9_]+");
    sc.name = sj["name"];
    if (!names.insert(sc.name).second) fail(source, where + "name", "duplicate scenario '" + sc.name + "'");
    if (!sj.contains("path") || !sj["path"].is_string() || sj["path"].get<std::string>().empty() ||
        sj["path"].get<std::string>()[0] != '/')
      fail(source, where + "path", "required, a request target starting with '/'");
    sc.path = sj["path"];
    if (sj.contains("load")) {
      if (sj["load"] == "open") sc.load = load_kind::open;
      else if (sj["load"] != "closed") fail(source, where + "load", "must be \"closed\" or \"open\"");
    }
    if (sj.contains("duration_s")) {
      const auto& d = sj["duration_s"];
      if (!d.is_number() || d.get<double>() < 1 || d.get<double>() != std::floor(d.get<double>()))
        fail(source, where + "duration_s", "must be a whole number of seconds >= 1 (wrk's -d takes no fractions)");
      sc.duration_s = d.get<double>();
    }
    sc.pipeline = positive_int(sj, "pipeline", 1, source + " " + where, 1);
    sc.wrk_threads = positive_int(sj, "wrk_threads", 0, source + " " + where, 0);
    sc.generator = sc.is_open() ? "lab_load" : "wrk";
    if (sj.contains("generator")) {
      if (sj["generator"] != "wrk" && sj["generator"] != "lab_load")
        fail(source, where + "generator", "must be \"wrk\" or \"lab_load\"");
      sc.generator = sj["generator"];
      if (sc.is_open() && sc.generator != "lab_load")
        fail(source, where + "generator", "an open-loop scenario needs lab_load (wrk is closed-loop only)");
      if (sc.generator == "lab_load" && sc.pipeline > 1)
        fail(source, where + "generator", "lab_load does not pipeline; use wrk for pipeline > 1");
    }
    const bool has_connections = sj.contains("connections");
    if (has_connections) {
      if (!sj["connections"].is_array() || sj["connections"].empty())
        fail(source, where + "connections", "a non-empty array of integers >= 1");
      int previous = 0;
      for (const auto& c : sj["connections"]) {
        if (!c.is_number_integer() || c.get<long long>() < 1 || c.get<long long>() > 100000)
          fail(source, where + "connections", "each level must be an integer in 1..100000");
        int level = c.get<int>();
        if (level <= previous) fail(source, where + "connections", "levels must be strictly ascending");
        previous = level;
        sc.connections.push_back(level);
      }
    }
    if (!sc.is_open()) {
      if (!has_connections)
        fail(source, where + "connections", "required, a non-empty array of integers >= 1");
      for (const char* open_only : {"rates", "rate_fractions", "slo_p99_ms", "capacity_search", "probe"})
        if (sj.contains(open_only))
          fail(source, where + open_only, "only for an open-loop scenario (\"load\": \"open\")");
    } else {
      if (sc.pipeline > 1) fail(source, where + "pipeline", "an open-loop scenario does not pipeline");
      if (sj.contains("wrk_threads")) fail(source, where + "wrk_threads", "not for an open-loop scenario");
      if (sc.connections.size() > 1)
        fail(source, where + "connections", "an open-loop scenario takes one value: lab_load's connection cap");
      if (sc.connections.empty()) sc.connections = {default_open_connection_cap};
      if (sj.contains("rates") == sj.contains("rate_fractions"))
        fail(source, where + "rates", "an open-loop scenario needs exactly one of rates (req/s) and rate_fractions");
      const bool fractions = sj.contains("rate_fractions");
      const char* key = fractions ? "rate_fractions" : "rates";
      const auto& values = sj[key];
      if (!values.is_array() || values.empty())
        fail(source, where + key, "a non-empty array of ascending positive numbers");
      double previous = 0;
      for (const auto& v : values) {
        if (!v.is_number() || v.get<double>() <= 0)
          fail(source, where + key, "each value must be a positive number");
        const double d = v.get<double>();
        if (fractions && d > 10) fail(source, where + key, "fractions of the probe's capacity must be <= 10");
        if (!fractions && (d < 1 || d > 10000000))
          fail(source, where + key, "each rate must be in 1..10000000 req/s");
        if (d <= previous) fail(source, where + key, "values must be strictly ascending");
        previous = d;
        (fractions ? sc.rate_fractions : sc.rates).push_back(d);
      }
      if (sj.contains("slo_p99_ms")) {
        if (!sj["slo_p99_ms"].is_number() || sj["slo_p99_ms"].get<double>() <= 0)
          fail(source, where + "slo_p99_ms", "must be a positive number of milliseconds");
        sc.slo_p99_ms = sj["slo_p99_ms"].get<double>();
      }
      if (sj.contains("capacity_search")) {
        check_fields(sj["capacity_search"], {"steps"}, source, where + "capacity_search.");
        if (!sc.slo_p99_ms)
          fail(source, where + "capacity_search", "needs slo_p99_ms (the search looks for the SLO's edge)");
        sc.capacity_search_steps = positive_int(sj["capacity_search"], "steps", 0,
                                                source + " " + where + "capacity_search.", 0);
        if (sc.capacity_search_steps > 10)
          fail(source, where + "capacity_search.steps", "at most 10 bisection steps");
      }
      if (sj.contains("probe")) {
        if (!fractions) fail(source, where + "probe", "only with rate_fractions (absolute rates need no probe)");
        check_fields(sj["probe"], {"connections", "duration_s"}, source, where + "probe.");
        sc.probe.connections = positive_int(sj["probe"], "connections", sc.probe.connections,
                                            source + " " + where + "probe.", 1);
        sc.probe.duration_s = positive_number(sj["probe"], "duration_s", sc.probe.duration_s, false,
                                              source + " " + where + "probe.", false);
        if (sc.probe.duration_s < 1 || sc.probe.duration_s != std::floor(sc.probe.duration_s))
          fail(source, where + "probe.duration_s", "must be a whole number of seconds >= 1 (wrk)");
      }
    }
    sc.downstream = sj.contains("downstream")
                        ? std::optional(parse_downstream(sj["downstream"], source, where + "downstream."))
                        : suite_downstream;
    s.scenarios.push_back(std::move(sc));
  }
  return s;
}

nlohmann::json suite_to_json(const suite& s) {
  nlohmann::json scenarios = nlohmann::json::array();
  for (const auto& sc : s.scenarios) {
    nlohmann::json sj = {{"name", sc.name}, {"path", sc.path}, {"load", to_string(sc.load)},
                         {"generator", sc.generator}, {"pipeline", sc.pipeline},
                         {"connections", sc.connections}};
    if (sc.wrk_threads > 0) sj["wrk_threads"] = sc.wrk_threads;
    if (!sc.rates.empty()) sj["rates"] = sc.rates;
    if (!sc.rate_fractions.empty()) {
      sj["rate_fractions"] = sc.rate_fractions;
      sj["probe"] = {{"connections", sc.probe.connections}, {"duration_s", sc.probe.duration_s}};
    }
    if (sc.slo_p99_ms) sj["slo_p99_ms"] = *sc.slo_p99_ms;
    if (sc.capacity_search_steps > 0) sj["capacity_search"] = {{"steps", sc.capacity_search_steps}};
    if (sc.duration_s) sj["duration_s"] = *sc.duration_s;
    // Each scenario's own (the suite's already applied), so the block parses back the same.
    if (sc.downstream) sj["downstream"] = downstream_to_json(*sc.downstream);
    scenarios.push_back(sj);
  }
  return {{"name", s.name},         {"description", s.description},
          {"duration_s", s.duration_s}, {"warmup_s", s.warmup_s},
          {"primer_s", s.primer_s}, {"timeout_s", s.timeout_s},
          {"repetitions", s.repetitions}, {"startup_runs", s.startup_runs},
          {"scenarios", scenarios}};
}

std::vector<std::string> available_suites(const std::filesystem::path& root) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root / "harness" / "suites", ec)) {
    if (entry.path().extension() == ".json") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

suite load_suite(const std::string& name_or_path, const std::filesystem::path& root) {
  std::filesystem::path file;
  const bool looks_like_path = name_or_path.find('/') != std::string::npos ||
                               name_or_path.ends_with(".json");
  if (looks_like_path) {
    file = name_or_path;
    if (!std::filesystem::exists(file)) throw suite_error("suite file not found: " + name_or_path);
  } else {
    file = root / "harness" / "suites" / (name_or_path + ".json");
    if (!std::filesystem::exists(file))
      throw suite_error("unknown suite '" + name_or_path + "'; valid suites: " +
                        join(available_suites(root)) + " (or a path to a .json file)");
  }
  std::ifstream in(file);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw suite_error(file.string() + ": not valid JSON: " + e.what());
  }
  return parse_suite(j, file.string());
}

void select_scenarios(suite& s, const std::vector<std::string>& names) {
  if (names.empty()) return;
  std::vector<std::string> valid;
  for (const auto& sc : s.scenarios) valid.push_back(sc.name);
  for (const auto& name : names) {
    if (std::find(valid.begin(), valid.end(), name) == valid.end())
      throw suite_error("unknown scenario '" + name + "' in suite " + s.name +
                        "; valid scenarios: " + join(valid));
  }
  std::erase_if(s.scenarios, [&](const scenario& sc) {
    return std::find(names.begin(), names.end(), sc.name) == names.end();
  });
}

}  // namespace lab
