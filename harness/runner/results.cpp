#include "results.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

#include "stats.h"

namespace lab {

void write_json_atomically(const std::filesystem::path& file, const nlohmann::json& doc) {
  const std::string text = doc.dump(1) + "\n";
  const std::filesystem::path tmp = file.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw results_error("cannot write " + tmp.string() + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string why = std::strerror(errno);
      ::close(fd);
      throw results_error("cannot write " + tmp.string() + ": " + why);
    }
    done += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (::rename(tmp.c_str(), file.c_str()) != 0)
    throw results_error("cannot rename " + tmp.string() + ": " + std::strerror(errno));
}

nlohmann::json load_results(const std::filesystem::path& file) {
  std::ifstream in(file);
  if (!in) throw results_error("cannot read " + file.string());
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw results_error(file.string() + " is not valid JSON: " + e.what());
  }
  if (!doc.is_object() || doc.value("schema_version", 0) != results_schema_version)
    throw results_error(file.string() + ": schema_version is not " +
                        std::to_string(results_schema_version));
  if (doc.value("kind", "") != "service") throw results_error(file.string() + ": kind is not \"service\"");
  return doc;
}

std::string measurement_key::describe() const {
  std::ostringstream out;
  out << server << " " << scenario << " c=" << connections;
  if (pipeline > 1) out << " pipeline=" << pipeline;
  out << " rep " << repetition + 1;
  return out.str();
}

measurement_key key_of(const nlohmann::json& m) {
  return {m.at("server").get<std::string>(), m.at("scenario").get<std::string>(),
          m.at("connections").get<int>(), m.value("pipeline", 1), m.at("repetition").get<int>()};
}

std::set<measurement_key> finished_measurements(const nlohmann::json& doc) {
  std::set<measurement_key> keys;
  if (!doc.contains("measurements")) return keys;
  for (const auto& m : doc["measurements"]) {
    if (m.value("status", "") == "ok") keys.insert(key_of(m));
  }
  return keys;
}

void drop_unfinished(nlohmann::json& doc) {
  if (!doc.contains("measurements")) return;
  auto& ms = doc["measurements"];
  nlohmann::json kept = nlohmann::json::array();
  for (auto& m : ms) {
    if (m.value("status", "") == "ok") kept.push_back(std::move(m));
  }
  ms = std::move(kept);
}

nlohmann::json make_aggregates(const nlohmann::json& measurements) {
  struct group {
    const nlohmann::json* first = nullptr;
    std::vector<const nlohmann::json*> members;
  };
  std::vector<std::tuple<std::string, std::string, int, int>> order;
  std::map<std::tuple<std::string, std::string, int, int>, group> groups;
  for (const auto& m : measurements) {
    if (m.value("status", "") != "ok") continue;
    auto k = std::make_tuple(m["server"].get<std::string>(), m["scenario"].get<std::string>(),
                             m["connections"].get<int>(), m.value("pipeline", 1));
    auto [it, inserted] = groups.try_emplace(k);
    if (inserted) {
      order.push_back(k);
      it->second.first = &m;
    }
    it->second.members.push_back(&m);
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& k : order) {
    const auto& g = groups[k];
    std::vector<double> rps, p50, p99, p999, cpu, rss;
    bool client_bound = false, errors = false, starved = false;
    for (const auto* m : g.members) {
      rps.push_back((*m)["requests_per_s"].get<double>());
      p50.push_back((*m)["latency_us"]["p50"].get<double>());
      p99.push_back((*m)["latency_us"]["p99"].get<double>());
      p999.push_back((*m)["latency_us"]["p99_9"].get<double>());
      const auto& server = (*m)["server_stats"];
      if (server.contains("cpu_us_per_request") && server["cpu_us_per_request"].is_number())
        cpu.push_back(server["cpu_us_per_request"].get<double>());
      if (server.contains("rss_peak_kb") && server["rss_peak_kb"].is_number())
        rss.push_back(server["rss_peak_kb"].get<double>());
      client_bound = client_bound || m->value("client_bound", false);
      for (const auto& f : (*m)["flags"]) {
        if (f == "errors") errors = true;
        if (f == "starved") starved = true;
      }
    }
    const spread rps_spread = summarize(rps);
    nlohmann::json flags = nlohmann::json::array();
    if (client_bound) flags.push_back("client_bound");
    if (errors) flags.push_back("errors");
    if (starved) flags.push_back("starved");
    if (is_noisy(rps_spread)) flags.push_back("noisy");
    const auto& first = *g.first;
    out.push_back({{"server", std::get<0>(k)},
                   {"model", first["model"]},
                   {"language", first["language"]},
                   {"scenario", std::get<1>(k)},
                   {"path", first["path"]},
                   {"connections", std::get<2>(k)},
                   {"pipeline", std::get<3>(k)},
                   {"repetitions", g.members.size()},
                   {"requests_per_s", spread_to_json(rps_spread)},
                   {"latency_p50_us", spread_to_json(summarize(p50))},
                   {"latency_p99_us", spread_to_json(summarize(p99))},
                   {"latency_p99_9_us", spread_to_json(summarize(p999))},
                   {"cpu_us_per_request", cpu.empty() ? nlohmann::json(nullptr) : spread_to_json(summarize(cpu))},
                   {"rss_peak_kb", rss.empty() ? nlohmann::json(nullptr) : spread_to_json(summarize(rss))},
                   {"client_bound", client_bound},
                   {"flags", flags}});
  }
  return out;
}

namespace {

struct checker {
  std::vector<std::string> problems;

  bool need(const nlohmann::json& j, const std::string& where, const char* key,
            bool (nlohmann::json::*is)() const noexcept, const char* type, bool nullable = false) {
    if (!j.is_object() || !j.contains(key)) {
      problems.push_back(where + key + ": missing");
      return false;
    }
    const auto& v = j.at(key);
    if (nullable && v.is_null()) return false;
    if (!(v.*is)()) {
      problems.push_back(where + key + ": not " + type);
      return false;
    }
    return true;
  }
  void spread(const nlohmann::json& j, const std::string& where, const char* key, bool nullable) {
    if (!need(j, where, key, &nlohmann::json::is_object, "an object", nullable)) return;
    for (const char* k : {"median", "min", "max"})
      need(j[key], where + key + ".", k, &nlohmann::json::is_number, "a number");
  }
};

using J = nlohmann::json;

}  // namespace

std::vector<std::string> validate_service_results(const nlohmann::json& doc) {
  checker c;
  if (!doc.is_object()) return {"document is not an object"};
  if (c.need(doc, "", "schema_version", &J::is_number_integer, "an integer") &&
      doc["schema_version"] != results_schema_version)
    c.problems.push_back("schema_version: not " + std::to_string(results_schema_version));
  if (c.need(doc, "", "kind", &J::is_string, "a string") && doc["kind"] != "service")
    c.problems.push_back("kind: not \"service\"");
  c.need(doc, "", "complete", &J::is_boolean, "a boolean");
  if (c.need(doc, "", "context", &J::is_object, "an object")) {
    const auto& ctx = doc["context"];
    for (const char* k : {"date", "host", "kernel", "compiler", "build_type", "suite"})
      c.need(ctx, "context.", k, &J::is_string, "a string", true);
    c.need(ctx, "context.", "cores", &J::is_number_integer, "an integer");
    c.need(ctx, "context.", "seed", &J::is_number_integer, "an integer");
    c.need(ctx, "context.", "git_dirty", &J::is_boolean, "a boolean", true);
    c.need(ctx, "context.", "runtimes", &J::is_object, "an object");
    if (c.need(ctx, "context.", "cpu_layout", &J::is_object, "an object")) {
      c.need(ctx["cpu_layout"], "context.cpu_layout.", "server_cpus", &J::is_array, "an array");
      c.need(ctx["cpu_layout"], "context.cpu_layout.", "client_cpus", &J::is_array, "an array");
    }
  }
  if (c.need(doc, "", "suite", &J::is_object, "an object")) {
    c.need(doc["suite"], "suite.", "name", &J::is_string, "a string");
    c.need(doc["suite"], "suite.", "duration_s", &J::is_number, "a number");
    c.need(doc["suite"], "suite.", "repetitions", &J::is_number_integer, "an integer");
    c.need(doc["suite"], "suite.", "scenarios", &J::is_array, "an array");
  }
  if (c.need(doc, "", "servers", &J::is_array, "an array")) {
    for (size_t i = 0; i < doc["servers"].size(); ++i) {
      const auto& s = doc["servers"][i];
      const std::string w = "servers[" + std::to_string(i) + "].";
      for (const char* k : {"name", "model", "language", "status"})
        c.need(s, w, k, &J::is_string, "a string");
      c.need(s, w, "reference", &J::is_boolean, "a boolean");
      c.need(s, w, "reason", &J::is_string, "a string or null", true);
      if (s.contains("status") && s["status"].is_string() && s["status"] != "ok" &&
          s["status"] != "skipped" && s["status"] != "failed" && s["status"] != "pending")
        c.problems.push_back(w + "status: not ok|skipped|failed|pending");
    }
  }
  if (c.need(doc, "", "measurements", &J::is_array, "an array")) {
    for (size_t i = 0; i < doc["measurements"].size(); ++i) {
      const auto& m = doc["measurements"][i];
      const std::string w = "measurements[" + std::to_string(i) + "].";
      for (const char* k : {"server", "model", "language", "scenario", "path", "status"})
        c.need(m, w, k, &J::is_string, "a string");
      for (const char* k : {"connections", "pipeline", "repetition"})
        c.need(m, w, k, &J::is_number_integer, "an integer");
      c.need(m, w, "flags", &J::is_array, "an array");
      c.need(m, w, "reason", &J::is_string, "a string or null", true);
      if (m.value("status", "") != "ok") continue;
      c.need(m, w, "duration_s", &J::is_number, "a number");
      c.need(m, w, "requests", &J::is_number_integer, "an integer");
      c.need(m, w, "requests_per_s", &J::is_number, "a number");
      c.need(m, w, "client_bound", &J::is_boolean, "a boolean");
      if (c.need(m, w, "latency_us", &J::is_object, "an object"))
        for (const char* k : {"p50", "p75", "p90", "p99", "p99_9", "max", "mean", "stdev"})
          c.need(m["latency_us"], w + "latency_us.", k, &J::is_number, "a number");
      if (c.need(m, w, "errors", &J::is_object, "an object"))
        for (const char* k : {"connect", "read", "write", "timeout", "status"})
          c.need(m["errors"], w + "errors.", k, &J::is_number_integer, "an integer");
      if (c.need(m, w, "server_stats", &J::is_object, "an object")) {
        const auto& st = m["server_stats"];
        for (const char* k : {"cpu_user_s", "cpu_sys_s", "rss_peak_kb", "threads_max",
                              "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches"})
          c.need(st, w + "server_stats.", k, &J::is_number, "a number");
        c.need(st, w + "server_stats.", "cpu_us_per_request", &J::is_number, "a number", true);
        c.need(st, w + "server_stats.", "rss_samples", &J::is_array, "an array");
      }
      if (c.need(m, w, "client", &J::is_object, "an object")) {
        c.need(m["client"], w + "client.", "cpu_s", &J::is_number, "a number");
        c.need(m["client"], w + "client.", "cpu_utilization", &J::is_number, "a number");
      }
      // Absent in files written before the canary existed.
      if (m.contains("canary") && c.need(m, w, "canary", &J::is_object, "an object")) {
        const auto& cn = m["canary"];
        c.need(cn, w + "canary.", "requests_sent", &J::is_number_integer, "an integer");
        c.need(cn, w + "canary.", "responses", &J::is_number_integer, "an integer");
        c.need(cn, w + "canary.", "first_response_ms", &J::is_number, "a number or null", true);
        c.need(cn, w + "canary.", "max_wait_ms", &J::is_number, "a number");
      }
    }
  }
  if (c.need(doc, "", "aggregates", &J::is_array, "an array")) {
    for (size_t i = 0; i < doc["aggregates"].size(); ++i) {
      const auto& a = doc["aggregates"][i];
      const std::string w = "aggregates[" + std::to_string(i) + "].";
      for (const char* k : {"server", "model", "scenario"}) c.need(a, w, k, &J::is_string, "a string");
      for (const char* k : {"connections", "pipeline", "repetitions"})
        c.need(a, w, k, &J::is_number_integer, "an integer");
      for (const char* k : {"requests_per_s", "latency_p50_us", "latency_p99_us", "latency_p99_9_us"})
        c.spread(a, w, k, false);
      c.spread(a, w, "cpu_us_per_request", true);
      c.spread(a, w, "rss_peak_kb", true);
      c.need(a, w, "client_bound", &J::is_boolean, "a boolean");
      c.need(a, w, "flags", &J::is_array, "an array");
    }
  }
  if (c.need(doc, "", "startup", &J::is_array, "an array")) {
    for (size_t i = 0; i < doc["startup"].size(); ++i) {
      const auto& s = doc["startup"][i];
      const std::string w = "startup[" + std::to_string(i) + "].";
      c.need(s, w, "server", &J::is_string, "a string");
      c.need(s, w, "runs", &J::is_number_integer, "an integer");
      for (const char* k : {"time_to_first_response_ms", "idle_rss_kb"}) {
        c.spread(s, w, k, true);
        if (s.contains(k) && s[k].is_object())
          c.need(s[k], w + k + ".", "samples", &J::is_array, "an array");
      }
    }
  }
  return c.problems;
}

}  // namespace lab
