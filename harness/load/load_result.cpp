#include "load_result.h"

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <stdexcept>

namespace lab::load {

namespace {

using json = nlohmann::json;

json us(std::uint64_t ns) { return static_cast<double>(ns) / 1000.0; }

json latency_summary(const latency_histogram& h) {
  if (h.count() == 0)
    return {{"p50", nullptr}, {"p90", nullptr}, {"p99", nullptr}, {"p99_9", nullptr},
            {"p99_99", nullptr}, {"max", nullptr}, {"mean", nullptr}};
  return {{"p50", us(h.percentile(50))},     {"p90", us(h.percentile(90))},
          {"p99", us(h.percentile(99))},     {"p99_9", us(h.percentile(99.9))},
          {"p99_99", us(h.percentile(99.99))}, {"max", us(h.max())},
          {"mean", h.mean() / 1000.0}};
}

json send_lag_summary(const latency_histogram& h) {
  if (h.count() == 0) return {{"p50", nullptr}, {"p99", nullptr}, {"max", nullptr}};
  return {{"p50", us(h.percentile(50))}, {"p99", us(h.percentile(99))}, {"max", us(h.max())}};
}

// "85 us", "1.25 ms", "2.5 s"
std::string human_time(std::uint64_t ns) {
  char buf[32];
  const double v = static_cast<double>(ns);
  if (v < 1e6) std::snprintf(buf, sizeof buf, "%.0f us", v / 1e3);
  else if (v < 1e9) std::snprintf(buf, sizeof buf, "%.2f ms", v / 1e6);
  else std::snprintf(buf, sizeof buf, "%.2f s", v / 1e9);
  return buf;
}

}  // namespace

void error_counts::add(const error_counts& o) {
  connect += o.connect;
  read += o.read;
  write += o.write;
  timeout += o.timeout;
  status += o.status;
}

json load_result::to_json() const {
  json j = {
      {"tool", "lab_load"},
      {"version", 1},
      {"mode", mode},
      {"url", url},
      {"offered_rate", offered_rate ? json(*offered_rate) : json(nullptr)},
      {"achieved_rate", achieved_rate},
      {"duration_s", duration_s},
      {"warmup_s", warmup_s},
      {"timeout_s", timeout_s},
      {"connections_cap", connections_cap},
      {"connections_opened", connections_opened},
      {"threads", threads},
      {"arrivals", arrivals ? json(*arrivals) : json(nullptr)},
      {"seed", seed ? json(*seed) : json(nullptr)},
      {"spin_us", spin_us ? json(*spin_us) : json(nullptr)},
      {"requests", requests},
      {"responses", responses},
      {"errors",
       {{"connect", errors.connect},
        {"read", errors.read},
        {"write", errors.write},
        {"timeout", errors.timeout},
        {"status", errors.status}}},
      {"send_lag_us", send_lag_summary(send_lag)},
      {"latency_us", latency_summary(latency)},
      {"histogram", latency.to_json()},
      {"send_lag_histogram", send_lag.to_json()},
      {"client_cpu_s", client_cpu_s},
      {"wall_s", wall_s},
      {"parts", parts},
      {"responses_per_second", responses_per_second},
  };
  if (parts > 1) j["send_lag_note"] = "recomputed from the merged send-lag histogram";
  if (!first_error.empty()) j["first_error"] = first_error;
  return j;
}

std::string load_result::to_json_text() const {
  const json j = to_json();
  std::string text = "{";
  bool first = true;
  for (const auto& [key, value] : j.items()) {
    text += first ? "\n " : ",\n ";
    first = false;
    text += json(key).dump() + ": " + value.dump();
  }
  return text + "\n}\n";
}

load_result load_result::from_json(const json& j) {
  try {
    if (j.at("tool") != "lab_load") throw std::invalid_argument("not a lab_load result");
    if (j.at("version") != 1)
      throw std::invalid_argument("unsupported lab_load result version " + j.at("version").dump());
    load_result r;
    r.mode = j.at("mode").get<std::string>();
    if (r.mode != "open" && r.mode != "closed")
      throw std::invalid_argument("mode must be open or closed");
    r.url = j.at("url").get<std::string>();
    if (!j.at("offered_rate").is_null()) r.offered_rate = j["offered_rate"].get<double>();
    r.achieved_rate = j.at("achieved_rate").get<double>();
    r.duration_s = j.at("duration_s").get<double>();
    r.warmup_s = j.value("warmup_s", 0.0);
    r.timeout_s = j.at("timeout_s").get<double>();
    r.connections_cap = j.at("connections_cap").get<std::uint64_t>();
    r.connections_opened = j.at("connections_opened").get<std::uint64_t>();
    r.threads = j.at("threads").get<int>();
    if (!j.at("arrivals").is_null()) r.arrivals = j["arrivals"].get<std::string>();
    if (!j.at("seed").is_null()) r.seed = j["seed"].get<std::uint64_t>();
    if (j.contains("spin_us") && !j["spin_us"].is_null()) r.spin_us = j["spin_us"].get<double>();
    r.requests = j.at("requests").get<std::uint64_t>();
    r.responses = j.at("responses").get<std::uint64_t>();
    const auto& e = j.at("errors");
    r.errors = {e.at("connect").get<std::uint64_t>(), e.at("read").get<std::uint64_t>(),
                e.at("write").get<std::uint64_t>(), e.at("timeout").get<std::uint64_t>(),
                e.at("status").get<std::uint64_t>()};
    r.latency = latency_histogram::from_json(j.at("histogram"));
    r.send_lag = latency_histogram::from_json(j.at("send_lag_histogram"));
    if (r.latency.count() != r.responses)
      throw std::invalid_argument("histogram count differs from responses");
    r.client_cpu_s = j.at("client_cpu_s").get<double>();
    r.wall_s = j.at("wall_s").get<double>();
    r.parts = j.value("parts", 1);
    r.first_error = j.value("first_error", "");
    // Older reports have no per-second counts.
    if (j.contains("responses_per_second"))
      r.responses_per_second = j["responses_per_second"].get<std::vector<std::uint64_t>>();
    return r;
  } catch (const json::exception& e) {
    throw std::invalid_argument(std::string("bad lab_load result: ") + e.what());
  }
}

std::string load_result::summary() const {
  std::ostringstream out;
  char buf[256];
  out << "lab_load " << mode << " loop, " << url;
  if (parts > 1) out << " (" << parts << " generators merged)";
  out << "\n";
  if (offered_rate) {
    std::snprintf(buf, sizeof buf, "  offered %.0f req/s (%s), achieved %.1f req/s over %.1f s\n",
                  *offered_rate, arrivals.value_or("?").c_str(), achieved_rate, duration_s);
  } else {
    std::snprintf(buf, sizeof buf, "  %llu connections, achieved %.1f req/s over %.1f s\n",
                  static_cast<unsigned long long>(connections_cap), achieved_rate, duration_s);
  }
  out << buf;
  out << "  requests " << requests << ", responses " << responses << ", errors: connect "
      << errors.connect << ", read " << errors.read << ", write " << errors.write
      << ", timeout " << errors.timeout << ", status " << errors.status << "\n";
  if (latency.count()) {
    out << "  latency" << (mode == "open" ? " (from intended send time)" : "") << ": p50 "
        << human_time(latency.percentile(50)) << ", p90 " << human_time(latency.percentile(90))
        << ", p99 " << human_time(latency.percentile(99)) << ", p99.9 "
        << human_time(latency.percentile(99.9)) << ", max " << human_time(latency.max()) << "\n";
  }
  if (send_lag.count()) {
    out << "  send lag: p50 " << human_time(send_lag.percentile(50)) << ", p99 "
        << human_time(send_lag.percentile(99)) << ", max " << human_time(send_lag.max()) << "\n";
  }
  std::snprintf(buf, sizeof buf,
                "  connections opened %llu (cap %llu), threads %d, client CPU %.2f s", 
                static_cast<unsigned long long>(connections_opened),
                static_cast<unsigned long long>(connections_cap), threads, client_cpu_s);
  out << buf;
  if (responses) {
    std::snprintf(buf, sizeof buf, " (%.2f us/response)", client_cpu_s * 1e6 / responses);
    out << buf;
  }
  out << "\n";
  return out.str();
}

void count_in_second(std::vector<std::uint64_t>& per_second, std::int64_t since_window_ns) {
  const auto second = static_cast<std::size_t>(std::max<std::int64_t>(since_window_ns, 0) /
                                               1'000'000'000);
  if (per_second.size() <= second) per_second.resize(second + 1, 0);
  ++per_second[second];
}

void add_per_second(std::vector<std::uint64_t>& into, const std::vector<std::uint64_t>& from) {
  if (into.size() < from.size()) into.resize(from.size(), 0);
  for (std::size_t k = 0; k < from.size(); ++k) into[k] += from[k];
}

load_result merge_results(const std::vector<load_result>& parts) {
  if (parts.empty()) throw std::invalid_argument("merge: nothing to merge");
  load_result m = parts.front();
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const load_result& p = parts[i];
    if (p.mode != m.mode)
      throw std::invalid_argument("merge: cannot mix open and closed loop results");
    if (p.url != m.url)
      throw std::invalid_argument("merge: results are for different URLs (" + m.url + ", " +
                                  p.url + ")");
    if (m.offered_rate) *m.offered_rate += p.offered_rate.value_or(0);
    m.achieved_rate += p.achieved_rate;
    m.duration_s = std::max(m.duration_s, p.duration_s);
    m.warmup_s = std::max(m.warmup_s, p.warmup_s);
    m.timeout_s = std::max(m.timeout_s, p.timeout_s);
    m.connections_cap += p.connections_cap;
    m.connections_opened += p.connections_opened;
    m.threads += p.threads;
    if (m.arrivals != p.arrivals) m.arrivals = "mixed";
    if (m.seed != p.seed) m.seed.reset();
    if (m.spin_us != p.spin_us) m.spin_us.reset();
    m.requests += p.requests;
    m.responses += p.responses;
    m.errors.add(p.errors);
    m.latency.merge(p.latency);   // throws if the layouts differ
    m.send_lag.merge(p.send_lag);
    m.client_cpu_s += p.client_cpu_s;
    m.wall_s = std::max(m.wall_s, p.wall_s);
    m.parts += p.parts;
    if (m.first_error.empty()) m.first_error = p.first_error;
    add_per_second(m.responses_per_second, p.responses_per_second);
  }
  return m;
}

}  // namespace lab::load
