#include "results.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

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
  const int version = doc.is_object() ? doc.value("schema_version", 0) : 0;
  if (version > results_schema_version)
    throw results_error(file.string() + " was written by a newer lab (schema_version " +
                        std::to_string(version) + "; this build reads 1 and " +
                        std::to_string(results_schema_version) +
                        "): update the lab to resume or read it; the file is left as it is");
  if (version != 1 && version != results_schema_version)
    throw results_error(file.string() + ": schema_version " + std::to_string(version) +
                        " is neither 1 nor " + std::to_string(results_schema_version));
  if (doc.value("kind", "") != "service") throw results_error(file.string() + ": kind is not \"service\"");
  return doc;
}

void upgrade_results(nlohmann::json& doc) {
  if (doc.value("schema_version", 0) != 1) return;
  for (auto& m : doc["measurements"]) {
    m["load"] = "closed";
    m["generator"] = "wrk";
    m["rate"] = nullptr;
    if (m.value("status", "") == "ok") m["offered_rate_rps"] = nullptr;
  }
  if (doc.contains("suite") && doc["suite"].contains("scenarios"))
    for (auto& sc : doc["suite"]["scenarios"]) {
      sc["load"] = "closed";
      sc["generator"] = "wrk";
    }
  doc["capacity"] = nlohmann::json::array();
  doc["probes"] = nlohmann::json::array();
  doc["schema_version"] = results_schema_version;
  doc["upgraded_from_schema"] = 1;
}

std::set<measurement_key> finished_measurements(const nlohmann::json& doc) {
  std::set<measurement_key> keys;
  if (!doc.contains("measurements")) return keys;
  for (const auto& m : doc["measurements"]) {
    if (m.value("status", "") == "ok") keys.insert(key_of(m));
  }
  return keys;
}

std::map<std::pair<std::string, std::string>, double> recorded_probes(const nlohmann::json& doc) {
  std::map<std::pair<std::string, std::string>, double> out;
  if (doc.contains("probes"))
    for (const auto& p : doc["probes"])
      if (p.value("status", "") == "ok" && p["requests_per_s"].is_number())
        out.emplace(std::make_pair(p["server"].get<std::string>(), p["scenario"].get<std::string>()),
                    p["requests_per_s"].get<double>());
  return out;
}

void drop_unfinished(nlohmann::json& doc) {
  if (!doc.contains("measurements")) return;
  std::set<std::pair<std::string, std::string>> redone;  // (server, scenario) of repetition 0
  nlohmann::json kept = nlohmann::json::array();
  for (auto& m : doc["measurements"]) {
    if (m.value("status", "") == "ok") kept.push_back(std::move(m));
    else if (m.value("repetition", 0) == 0) redone.emplace(m["server"], m["scenario"]);
  }
  doc["measurements"] = std::move(kept);
  for (const char* array : {"probes", "capacity"}) {
    if (!doc.contains(array)) continue;
    nlohmann::json left = nlohmann::json::array();
    for (auto& e : doc[array]) {
      const bool failed = std::string(array) == "probes" && e.value("status", "") != "ok";
      const bool stale = std::string(array) == "capacity" &&
                         redone.count({e["server"].get<std::string>(), e["scenario"].get<std::string>()});
      if (!failed && !stale) left.push_back(std::move(e));
    }
    doc[array] = std::move(left);
  }
}

nlohmann::json make_aggregates(const nlohmann::json& measurements) {
  struct group {
    const nlohmann::json* first = nullptr;
    std::vector<const nlohmann::json*> members;
  };
  // (server, scenario, load, connections, rate, pipeline): a key without the repetition.
  using group_key = std::tuple<std::string, std::string, std::string, int, double, int>;
  std::vector<group_key> order;
  std::map<group_key, group> groups;
  for (const auto& m : measurements) {
    if (m.value("status", "") != "ok" || m.value("search_step", false)) continue;
    const auto k = key_of(m);
    const group_key gk{k.server, k.scenario, k.load, k.connections, k.rate, k.pipeline};
    auto [it, inserted] = groups.try_emplace(gk);
    if (inserted) {
      order.push_back(gk);
      it->second.first = &m;
    }
    it->second.members.push_back(&m);
  }
  nlohmann::json out = nlohmann::json::array();
  for (const auto& gk : order) {
    const auto& g = groups[gk];
    std::vector<double> rps, p50, p99, p999, p9999, cpu, rss, calls_per_request, downstream_cpu;
    bool client_bound = false;
    std::set<std::string> member_flags;
    std::vector<double> gc_pauses, gc_total_ms, gc_max_ms;  // servers with a GC log (noise.h)
    for (const auto* m : g.members) {
      rps.push_back((*m)["requests_per_s"].get<double>());
      const auto& lat = (*m)["latency_us"];
      p50.push_back(lat["p50"].get<double>());
      p99.push_back(lat["p99"].get<double>());
      p999.push_back(lat["p99_9"].get<double>());
      if (lat.contains("p99_99")) p9999.push_back(lat["p99_99"].get<double>());
      const auto& server = (*m)["server_stats"];
      if (server.contains("cpu_us_per_request") && server["cpu_us_per_request"].is_number())
        cpu.push_back(server["cpu_us_per_request"].get<double>());
      if (server.contains("rss_peak_kb") && server["rss_peak_kb"].is_number())
        rss.push_back(server["rss_peak_kb"].get<double>());
      if (m->contains("downstream")) {
        const auto& d = (*m)["downstream"];
        if (d.contains("calls_per_request") && d["calls_per_request"].is_number())
          calls_per_request.push_back(d["calls_per_request"].get<double>());
        if (d.contains("cpu_utilization") && d["cpu_utilization"].is_number())
          downstream_cpu.push_back(d["cpu_utilization"].get<double>());
      }
      if (server.contains("gc") && server["gc"].is_object()) {
        gc_pauses.push_back(server["gc"].value("pauses", 0.0));
        gc_total_ms.push_back(server["gc"].value("pause_total_ms", 0.0));
        gc_max_ms.push_back(server["gc"].value("pause_max_ms", 0.0));
      }
      client_bound = client_bound || m->value("client_bound", false);
      for (const auto& f : (*m)["flags"]) member_flags.insert(f.get<std::string>());
    }
    const spread rps_spread = summarize(rps);
    // An aggregate carries a flag if any repetition did; noisy is its own.
    nlohmann::json flags = nlohmann::json::array();
    if (client_bound) flags.push_back("client_bound");
    for (const char* f : {"errors", "starved", "overloaded", "downstream_bound", "noisy_machine"})
      if (member_flags.count(f)) flags.push_back(f);
    if (is_noisy(rps_spread)) flags.push_back("noisy");
    const auto& first = *g.first;
    const bool open = std::get<2>(gk) == "open";
    nlohmann::json a = {{"server", std::get<0>(gk)},
                        {"model", first["model"]},
                        {"language", first["language"]},
                        {"scenario", std::get<1>(gk)},
                        {"path", first["path"]},
                        {"load", std::get<2>(gk)},
                        {"generator", first.value("generator", "wrk")},
                        {"connections", std::get<3>(gk)},
                        {"rate", open ? nlohmann::json(std::get<4>(gk)) : nlohmann::json(nullptr)},
                        {"offered_rate_rps", open ? nlohmann::json(std::get<4>(gk)) : nlohmann::json(nullptr)},
                        {"pipeline", std::get<5>(gk)},
                        {"repetitions", g.members.size()},
                        {"requests_per_s", spread_to_json(rps_spread)},
                        {"latency_p50_us", spread_to_json(summarize(p50))},
                        {"latency_p99_us", spread_to_json(summarize(p99))},
                        {"latency_p99_9_us", spread_to_json(summarize(p999))},
                        {"cpu_us_per_request", cpu.empty() ? nlohmann::json(nullptr) : spread_to_json(summarize(cpu))},
                        {"rss_peak_kb", rss.empty() ? nlohmann::json(nullptr) : spread_to_json(summarize(rss))},
                        {"client_bound", client_bound},
                        {"flags", flags}};
    if (p9999.size() == g.members.size()) a["latency_p99_99_us"] = spread_to_json(summarize(p9999));
    if (first.contains("rate_fraction")) a["rate_fraction"] = first["rate_fraction"];
    // Scenarios with a downstream (/gateway): when every repetition has the value.
    if (!calls_per_request.empty() && calls_per_request.size() == g.members.size())
      a["downstream_calls_per_request"] = spread_to_json(summarize(calls_per_request));
    if (!downstream_cpu.empty() && downstream_cpu.size() == g.members.size())
      a["downstream_cpu_utilization"] = spread_to_json(summarize(downstream_cpu));
    // Servers with a GC log: the pauses per measurement, when every repetition has them.
    if (!gc_pauses.empty() && gc_pauses.size() == g.members.size()) {
      a["gc_pauses"] = spread_to_json(summarize(gc_pauses));
      a["gc_pause_total_ms"] = spread_to_json(summarize(gc_total_ms));
      a["gc_pause_max_ms"] = spread_to_json(summarize(gc_max_ms));
    }
    out.push_back(std::move(a));
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
  int version = 0;
  if (c.need(doc, "", "schema_version", &J::is_number_integer, "an integer")) {
    version = doc["schema_version"].get<int>();
    if (version != 1 && version != results_schema_version)
      c.problems.push_back("schema_version: not 1 or " + std::to_string(results_schema_version));
  }
  const bool v2 = version >= 2;
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
      bool open = false, wrk = true;
      if (v2) {
        if (c.need(m, w, "load", &J::is_string, "a string")) {
          open = m["load"] == "open";
          if (!open && m["load"] != "closed") c.problems.push_back(w + "load: not closed|open");
        }
        if (c.need(m, w, "generator", &J::is_string, "a string")) wrk = m["generator"] == "wrk";
        if (open) c.need(m, w, "rate", &J::is_number, "a number (null: a failed point whose rate was never known)", true);
        else c.need(m, w, "rate", &J::is_null, "null (closed loop)");
        if (m.contains("search_step")) c.need(m, w, "search_step", &J::is_boolean, "a boolean");
      }
      if (m.value("status", "") != "ok") continue;
      if (v2) {
        if (open) c.need(m, w, "offered_rate_rps", &J::is_number, "a number");
        else c.need(m, w, "offered_rate_rps", &J::is_null, "null (closed loop)");
        if (m.contains("send_lag_us") && c.need(m, w, "send_lag_us", &J::is_object, "an object"))
          for (const char* k : {"p50", "p99", "max"})
            c.need(m["send_lag_us"], w + "send_lag_us.", k, &J::is_number, "a number");
        if (m.contains("histogram_file")) c.need(m, w, "histogram_file", &J::is_string, "a string");
        // Scenarios with a downstream (/gateway) only.
        if (m.contains("downstream") && c.need(m, w, "downstream", &J::is_object, "an object")) {
          const auto& d = m["downstream"];
          const std::string dw = w + "downstream.";
          c.need(d, dw, "delay", &J::is_string, "a string");
          for (const char* k : {"cpu_s", "cpu_utilization"}) c.need(d, dw, k, &J::is_number, "a number");
          for (const char* k : {"threads", "calls", "cancelled", "in_flight_after"})
            c.need(d, dw, k, &J::is_number_integer, "an integer");
          c.need(d, dw, "calls_per_request", &J::is_number, "a number or null", true);
        }
      }
      c.need(m, w, "duration_s", &J::is_number, "a number");
      c.need(m, w, "requests", &J::is_number_integer, "an integer");
      c.need(m, w, "requests_per_s", &J::is_number, "a number");
      c.need(m, w, "client_bound", &J::is_boolean, "a boolean");
      if (c.need(m, w, "latency_us", &J::is_object, "an object")) {
        for (const char* k : {"p50", "p90", "p99", "p99_9", "max", "mean"})
          c.need(m["latency_us"], w + "latency_us.", k, &J::is_number, "a number");
        // wrk reports p75 and stdev; lab_load reports p99_99 instead.
        for (const char* k : {"p75", "stdev"})
          if (wrk || m["latency_us"].contains(k))
            c.need(m["latency_us"], w + "latency_us.", k, &J::is_number, "a number");
      }
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
      if (v2) {
        c.need(a, w, "load", &J::is_string, "a string");
        c.need(a, w, "rate", &J::is_number, "a number or null", true);
        c.need(a, w, "offered_rate_rps", &J::is_number, "a number or null", true);
      }
    }
  }
  if (v2 && c.need(doc, "", "probes", &J::is_array, "an array")) {
    for (size_t i = 0; i < doc["probes"].size(); ++i) {
      const auto& p = doc["probes"][i];
      const std::string w = "probes[" + std::to_string(i) + "].";
      for (const char* k : {"server", "scenario", "path", "status"}) c.need(p, w, k, &J::is_string, "a string");
      c.need(p, w, "connections", &J::is_number_integer, "an integer");
      c.need(p, w, "requests_per_s", &J::is_number, "a number or null", true);
    }
  }
  if (v2 && c.need(doc, "", "capacity", &J::is_array, "an array")) {
    for (size_t i = 0; i < doc["capacity"].size(); ++i) {
      const auto& e = doc["capacity"][i];
      const std::string w = "capacity[" + std::to_string(i) + "].";
      for (const char* k : {"server", "scenario"}) c.need(e, w, k, &J::is_string, "a string");
      c.need(e, w, "slo_p99_ms", &J::is_number, "a number");
      for (const char* k : {"probe_rps", "capacity_rps", "first_failing_rps"})
        c.need(e, w, k, &J::is_number, "a number or null", true);
      c.need(e, w, "reason", &J::is_string, "a string or null", true);
      if (c.need(e, w, "status", &J::is_string, "a string") && e["status"] != "ok" &&
          e["status"] != "none_passed" && e["status"] != "all_passed" && e["status"] != "failed")
        c.problems.push_back(w + "status: not ok|none_passed|all_passed|failed");
      if (c.need(e, w, "points", &J::is_array, "an array"))
        for (size_t k = 0; k < e["points"].size(); ++k) {
          const auto& pt = e["points"][k];
          const std::string pw = w + "points[" + std::to_string(k) + "].";
          c.need(pt, pw, "rate", &J::is_number, "a number");
          c.need(pt, pw, "p99_us", &J::is_number, "a number");
          c.need(pt, pw, "overloaded", &J::is_boolean, "a boolean");
          c.need(pt, pw, "passed", &J::is_boolean, "a boolean");
        }
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

void run_document::save() {
  doc_["aggregates"] = make_aggregates(doc_["measurements"]);
  write_json_atomically(file(), doc_);
}

nlohmann::json& run_document::server_entry(const std::string& name) {
  for (auto& s : doc_["servers"])
    if (s["name"] == name) return s;
  throw std::logic_error("no server entry " + name);
}

void run_document::add_measurement(nlohmann::json record) {
  doc_["measurements"].push_back(std::move(record));
  save();
}

std::optional<double> run_document::probe_rps(const std::string& server,
                                              const std::string& scenario) const {
  if (!doc_.contains("probes")) return std::nullopt;
  for (const auto& p : doc_["probes"])
    if (p["server"] == server && p["scenario"] == scenario && p["status"] == "ok" &&
        p["requests_per_s"].is_number())
      return p["requests_per_s"].get<double>();
  return std::nullopt;
}

void run_document::add_probe(nlohmann::json probe) {
  if (!doc_.contains("probes")) doc_["probes"] = nlohmann::json::array();
  doc_["probes"].push_back(std::move(probe));
  save();
}

const nlohmann::json* run_document::capacity(const std::string& server,
                                             const std::string& scenario) const {
  if (!doc_.contains("capacity")) return nullptr;
  for (const auto& e : doc_["capacity"])
    if (e["server"] == server && e["scenario"] == scenario) return &e;
  return nullptr;
}

void run_document::add_capacity(nlohmann::json entry) {
  if (!doc_.contains("capacity")) doc_["capacity"] = nlohmann::json::array();
  doc_["capacity"].push_back(std::move(entry));
  save();
}

std::vector<const nlohmann::json*> run_document::measurements_of(const std::string& server,
                                                                 const std::string& scenario,
                                                                 int repetition) const {
  std::vector<const nlohmann::json*> out;
  for (const auto& m : doc_["measurements"])
    if (m["server"] == server && m["scenario"] == scenario && m["repetition"] == repetition &&
        m.value("status", "") == "ok")
      out.push_back(&m);
  return out;
}

}  // namespace lab
