#include "summary.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

namespace lab {
namespace {

using nlohmann::json;

std::string fmt(const char* format, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, value);
  return buf;
}

std::string with_range(const json& spread, const char* format, double scale = 1) {
  if (!spread.is_object()) return "–";
  if (spread["min"] == spread["max"]) return fmt(format, spread["median"].get<double>() * scale);
  return fmt(format, spread["median"].get<double>() * scale) + " (" +
         fmt(format, spread["min"].get<double>() * scale) + "–" +
         fmt(format, spread["max"].get<double>() * scale) + ")";
}

std::string median_of(const json& spread, const char* format, double scale = 1) {
  if (!spread.is_object()) return "–";
  return fmt(format, spread["median"].get<double>() * scale);
}

std::string flags_of(const json& flags) {
  std::string out;
  for (const auto& f : flags) out += (out.empty() ? "" : ", ") + f.get<std::string>();
  return out.empty() ? "" : out;
}

}  // namespace

std::string summary_markdown(const json& doc) {
  std::ostringstream out;
  const auto& ctx = doc["context"];
  const int reps = doc["suite"].value("repetitions", 1);
  out << "# Summary: suite " << doc["suite"].value("name", "?") << ", "
      << ctx.value("date", "?") << ", " << ctx.value("host", "?") << "\n\n";
  out << "Server CPUs " << ctx["cpu_layout"]["server_cpus"].dump() << ", client CPUs "
      << ctx["cpu_layout"]["client_cpus"].dump() << ", seed " << ctx["seed"].dump() << ", "
      << doc["suite"].value("duration_s", 0.0) << " s per measurement, "
      << (reps > 1 ? "median (min–max) of " + std::to_string(reps) + " repetitions" : "1 repetition")
      << ". `client_bound`: the load generator was the limit (closed loop: its CPUs ≥ 90 % "
         "busy; open loop: its send lag p99 > 1 ms), so the server may be faster than shown. "
         "`starved`: a connection opened during the run waited too long without an answer "
         "(below). `overloaded` (open loop): the server answered < 95 % of the offered rate.\n";

  // Group aggregates by (scenario, pipeline, connections) in suite order.
  std::vector<std::tuple<std::string, int, int>> order;
  if (doc["suite"].contains("scenarios"))
    for (const auto& sc : doc["suite"]["scenarios"])
      if (sc.value("load", "closed") != "open")
        for (const auto& c : sc["connections"])
          order.emplace_back(sc["name"].get<std::string>(), sc.value("pipeline", 1), c.get<int>());
  for (const auto& [scenario, pipeline, connections] : order) {
    std::vector<const json*> rows;
    std::string path;
    for (const auto& a : doc["aggregates"]) {
      if (a.value("load", "closed") == "closed" && a["scenario"] == scenario &&
          a["connections"] == connections && a.value("pipeline", 1) == pipeline) {
        rows.push_back(&a);
        path = a.value("path", "");
      }
    }
    if (rows.empty()) continue;
    std::sort(rows.begin(), rows.end(), [](const json* a, const json* b) {
      return (*a)["requests_per_s"]["median"].get<double>() > (*b)["requests_per_s"]["median"].get<double>();
    });
    out << "\n## " << scenario << " — `" << path << "`, " << connections << " connections";
    if (pipeline > 1) out << ", pipeline depth " << pipeline;
    out << "\n\n| # | server | model | req/s (min–max) | p99 ms | CPU µs/req | peak RSS MiB | flags |\n"
        << "|---|---|---|---|---|---|---|---|\n";
    int rank = 1;
    for (const json* a : rows) {
      out << "| " << rank++ << " | " << (*a)["server"].get<std::string>() << " | "
          << (*a)["model"].get<std::string>() << " | " << with_range((*a)["requests_per_s"], "%.0f")
          << " | " << median_of((*a)["latency_p99_us"], "%.2f", 1e-3) << " | "
          << median_of((*a)["cpu_us_per_request"], "%.1f") << " | "
          << median_of((*a)["rss_peak_kb"], "%.1f", 1.0 / 1024) << " | " << flags_of((*a)["flags"])
          << " |\n";
    }
  }

  // Open-loop scenarios: per server, its points by offered rate (achieved next to it, never
  // instead of it).
  if (doc["suite"].contains("scenarios"))
    for (const auto& sc : doc["suite"]["scenarios"]) {
      if (sc.value("load", "closed") != "open") continue;
      const std::string name = sc["name"].get<std::string>();
      std::vector<const json*> rows;
      for (const auto& a : doc["aggregates"])
        if (a.value("load", "closed") == "open" && a["scenario"] == name) rows.push_back(&a);
      if (rows.empty()) continue;
      std::stable_sort(rows.begin(), rows.end(), [](const json* a, const json* b) {
        if ((*a)["server"] != (*b)["server"]) return (*a)["server"].get<std::string>() < (*b)["server"].get<std::string>();
        return (*a)["rate"].get<double>() < (*b)["rate"].get<double>();
      });
      out << "\n## " << name << " — `" << sc.value("path", "") << "`, open loop (lab_load, offered rate)\n\n"
          << "| server | offered req/s | achieved req/s | p50 ms | p99 ms | p99.9 ms | CPU µs/req | flags |\n"
          << "|---|---|---|---|---|---|---|---|\n";
      for (const json* a : rows)
        out << "| " << (*a)["server"].get<std::string>() << " | " << fmt("%.0f", (*a)["rate"].get<double>())
            << " | " << with_range((*a)["requests_per_s"], "%.0f") << " | "
            << median_of((*a)["latency_p50_us"], "%.2f", 1e-3) << " | "
            << median_of((*a)["latency_p99_us"], "%.2f", 1e-3) << " | "
            << median_of((*a)["latency_p99_9_us"], "%.2f", 1e-3) << " | "
            << median_of((*a)["cpu_us_per_request"], "%.1f") << " | " << flags_of((*a)["flags"]) << " |\n";
    }

  if (doc.contains("capacity") && !doc["capacity"].empty()) {
    out << "\n## Capacity at SLO — the highest offered rate with p99 under the SLO, not overloaded\n\n"
        << "| server | scenario | SLO p99 ms | capacity req/s | first failing req/s | probe req/s | status |\n"
        << "|---|---|---|---|---|---|---|\n";
    std::vector<const json*> rows;
    for (const auto& e : doc["capacity"]) rows.push_back(&e);
    std::stable_sort(rows.begin(), rows.end(), [](const json* a, const json* b) {
      if ((*a)["scenario"] != (*b)["scenario"]) return (*a)["scenario"].get<std::string>() < (*b)["scenario"].get<std::string>();
      auto cap = [](const json* e) { return (*e)["capacity_rps"].is_number() ? (*e)["capacity_rps"].get<double>() : -1.0; };
      return cap(a) > cap(b);
    });
    auto rate_or_dash = [](const json& v) { return v.is_number() ? fmt("%.0f", v.get<double>()) : std::string("–"); };
    for (const json* e : rows) {
      const std::string status = (*e)["status"].get<std::string>();
      out << "| " << (*e)["server"].get<std::string>() << " | " << (*e)["scenario"].get<std::string>() << " | "
          << fmt("%g", (*e)["slo_p99_ms"].get<double>()) << " | "
          << (status == "all_passed" ? "≥ " : "") << rate_or_dash((*e)["capacity_rps"]) << " | "
          << rate_or_dash((*e)["first_failing_rps"]) << " | " << rate_or_dash((*e)["probe_rps"]) << " | "
          << status << ((*e)["reason"].is_string() ? ": " + (*e)["reason"].get<std::string>() : "") << " |\n";
    }
  }

  // The canary (docs/harness.md): wrk never reports a connection that gets no response at all.
  // One line per server and scenario, not per measurement: a full run flags well over a
  // hundred measurements, and what a reader needs is where it happens and how often.
  struct starved_level {
    int measured = 0, starved = 0, never_answered = 0;
    double longest_wait_ms = 0;
  };
  std::vector<std::pair<std::string, std::string>> starved_order;  // (server, scenario)
  // Levels by connections (closed loop) or offered rate (open loop), ascending.
  std::map<std::pair<std::string, std::string>, std::map<double, starved_level>> levels;
  std::map<std::pair<std::string, std::string>, bool> open_loop;
  for (const auto& m : doc["measurements"]) {
    if (m["status"] != "ok" || !m.contains("canary")) continue;
    const std::pair<std::string, std::string> key{m["server"].get<std::string>(), m["scenario"].get<std::string>()};
    const bool open = m.value("load", "closed") == "open" && m["rate"].is_number();
    open_loop[key] = open;
    auto& level = levels[key][open ? m["rate"].get<double>() : m["connections"].get<double>()];
    ++level.measured;
    bool flagged = false;
    for (const auto& f : m["flags"]) flagged = flagged || f == "starved";
    if (!flagged) continue;
    const auto& c = m["canary"];
    const bool answered = c["first_response_ms"].is_number();
    const double waited_ms = answered ? c["first_response_ms"].get<double>() : c["max_wait_ms"].get<double>();
    ++level.starved;
    level.never_answered += answered ? 0 : 1;
    level.longest_wait_ms = std::max(level.longest_wait_ms, waited_ms);
    if (std::find(starved_order.begin(), starved_order.end(), key) == starved_order.end())
      starved_order.push_back(key);
  }
  // Grouped by server; each server's scenarios stay in the order the suite runs them.
  std::stable_sort(starved_order.begin(), starved_order.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::ostringstream starved;
  for (const auto& key : starved_order) {
    starved << "- " << key.first << " " << key.second << ":";
    const char* separator = " ";
    for (const auto& [value, level] : levels[key]) {
      if (level.starved == 0) continue;
      starved << separator << (open_loop[key] ? fmt("%.0f req/s", value) : fmt("c=%.0f", value)) << " in " << level.starved << " of " << level.measured
              << " repetition" << (level.measured == 1 ? "" : "s") << " (longest wait "
              << fmt("%.1f", level.longest_wait_ms / 1000) << " s";
      if (level.never_answered > 0) starved << ", never answered in " << level.never_answered;
      starved << ")";
      separator = "; ";
    }
    starved << "\n";
  }
  if (!starved.str().empty())
    out << "\n## Starved connections (`starved`)\n\n"
        << "A connection opened during the run waited too long for its first answer: some connections "
           "are not being served, and throughput counts only the served ones. Where, and in how many "
           "repetitions:\n\n"
        << starved.str();

  if (!doc["startup"].empty()) {
    out << "\n## Cold start — exec to the first 200 from `/plaintext`\n\n"
        << "| server | model | runs | ms median (min–max) | idle RSS MiB |\n|---|---|---|---|---|\n";
    std::vector<const json*> rows;
    for (const auto& s : doc["startup"]) rows.push_back(&s);
    std::sort(rows.begin(), rows.end(), [](const json* a, const json* b) {
      auto key = [](const json* j) {
        const auto& t = (*j)["time_to_first_response_ms"];
        return t.is_object() ? t["median"].get<double>() : 1e18;
      };
      return key(a) < key(b);
    });
    for (const json* s : rows) {
      out << "| " << (*s)["server"].get<std::string>() << " | " << s->value("model", "") << " | "
          << (*s)["runs"].get<int>() << " | " << with_range((*s)["time_to_first_response_ms"], "%.1f")
          << " | " << median_of((*s)["idle_rss_kb"], "%.1f", 1.0 / 1024) << " |\n";
    }
  }

  std::ostringstream problems;
  for (const auto& s : doc["servers"])
    if (s["status"] == "ok" && s.contains("scenarios_not_served"))
      problems << "- server " << s["name"].get<std::string>() << " (reference) not measured on "
               << (s["scenarios_not_served"].empty() ? std::string("nothing")
                                                     : s["scenarios_not_served"].dump())
               << ": it does not implement the whole contract\n";
  for (const auto& s : doc["servers"])
    if (s["status"] != "ok")
      problems << "- server " << s["name"].get<std::string>() << " " << s["status"].get<std::string>()
               << ": " << (s["reason"].is_string() ? s["reason"].get<std::string>() : "") << "\n";
  for (const auto& m : doc["measurements"])
    if (m["status"] != "ok")
      problems << "- " << m["server"].get<std::string>() << " " << m["scenario"].get<std::string>()
               << (m.value("load", "closed") == "open"
                       ? (m["rate"].is_number() ? " " + fmt("%.0f", m["rate"].get<double>()) + " req/s"
                                                : std::string(" (rate unknown)"))
                       : " c=" + std::to_string(m["connections"].get<int>()))
               << (m.value("search_step", false) ? " (capacity search)" : "")
               << " rep " << m["repetition"].get<int>() + 1
               << ": " << (m["reason"].is_string() ? m["reason"].get<std::string>() : "")
               << (m["flags"].empty() ? "" : " [" + flags_of(m["flags"]) + "]") << "\n";
  if (doc.contains("probes"))
    for (const auto& p : doc["probes"])
      if (p.value("status", "ok") != "ok")
        problems << "- capacity probe " << p["server"].get<std::string>() << " " << p["scenario"].get<std::string>()
                 << ": " << (p["reason"].is_string() ? p["reason"].get<std::string>() : "") << "\n";
  for (const auto& s : doc["servers"])
    if (s.contains("unclean_stops"))
      for (const auto& u : s["unclean_stops"])
        problems << "- server " << s["name"].get<std::string>() << " did not stop cleanly after repetition "
                 << u["repetition"].get<int>() + 1 << ": " << u["exit"].get<std::string>() << "\n";
  for (const auto& s : doc["startup"])
    if (s.value("status", "ok") != "ok")
      problems << "- cold start " << s["server"].get<std::string>() << ": "
               << (s["reason"].is_string() ? s["reason"].get<std::string>() : "") << "\n";
  if (!problems.str().empty()) out << "\n## Not measured or failed\n\n" << problems.str();
  return out.str();
}

}  // namespace lab
