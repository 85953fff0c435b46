#include "measurement.h"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace lab {

using nlohmann::json;

std::string measurement_key::describe() const {
  std::ostringstream out;
  out << server << " " << scenario;
  if (open()) out << " " << static_cast<long long>(std::llround(rate)) << " req/s";
  else out << " c=" << connections;
  if (pipeline > 1) out << " pipeline=" << pipeline;
  out << " rep " << repetition + 1;
  return out.str();
}

measurement_key key_of(const json& m) {
  measurement_key k;
  k.server = m.at("server").get<std::string>();
  k.scenario = m.at("scenario").get<std::string>();
  k.load = m.value("load", "closed");
  k.connections = m.at("connections").get<int>();
  k.pipeline = m.value("pipeline", 1);
  k.repetition = m.at("repetition").get<int>();
  k.rate = m.contains("rate") && m["rate"].is_number() ? m["rate"].get<double>() : 0;
  return k;
}

json measurement_identity::to_json() const {
  json j = {{"server", key.server},
            {"model", model},
            {"language", language},
            {"scenario", key.scenario},
            {"path", path},
            {"load", key.load},
            {"generator", generator},
            {"connections", key.connections},
            {"rate", key.open() && key.rate > 0 ? json(key.rate) : json(nullptr)},
            {"pipeline", key.pipeline},
            {"repetition", key.repetition}};
  if (rate_fraction) j["rate_fraction"] = std::round(*rate_fraction * 10000) / 10000;
  if (search_step) j["search_step"] = true;
  return j;
}

server_usage usage_from_samples(const std::vector<timed_sample>& samples) {
  server_usage u;
  if (samples.empty()) return u;
  const auto& first = samples.front().sample;
  const auto& last = samples.back().sample;
  for (const auto& s : samples) {
    u.rss_peak_kb = std::max(u.rss_peak_kb, s.sample.rss_kb);
    u.threads_max = std::max(u.threads_max, s.sample.threads);
    u.rss_samples.push_back({std::round(s.t_s * 1000) / 1000, s.sample.rss_kb});
  }
  auto delta = [](uint64_t a, uint64_t b) { return b > a ? b - a : 0; };
  u.cpu_user_s = std::max(0.0, last.utime_s - first.utime_s);
  u.cpu_sys_s = std::max(0.0, last.stime_s - first.stime_s);
  u.vm_hwm_kb = last.hwm_kb;
  u.processes = last.processes;
  u.voluntary_ctxt_switches = delta(first.voluntary_ctxt_switches, last.voluntary_ctxt_switches);
  u.nonvoluntary_ctxt_switches = delta(first.nonvoluntary_ctxt_switches, last.nonvoluntary_ctxt_switches);
  u.minor_faults = delta(first.minor_faults, last.minor_faults);
  u.major_faults = delta(first.major_faults, last.major_faults);
  return u;
}

void add_samples(downstream_usage& usage, const std::vector<timed_sample>& samples) {
  if (samples.empty()) return;
  const auto& first = samples.front();
  const auto& last = samples.back();
  usage.cpu_s = std::max(0.0, last.sample.utime_s + last.sample.stime_s -
                                  first.sample.utime_s - first.sample.stime_s);
  usage.wall_s = std::max(0.0, last.t_s - first.t_s);
}

bool is_client_bound(const flag_inputs& in) {
  if (in.a_load_host_bound) return true;
  // An open-loop generator that keeps its schedule is not limiting the load even at high CPU;
  // one that falls behind it is, whatever its CPU says.
  if (in.open && in.send_lag_p99_us) return *in.send_lag_p99_us > client_bound_send_lag_p99_us;
  return in.client_utilization >= client_bound_utilization;
}

std::vector<std::string> measurement_flags(const flag_inputs& in) {
  std::vector<std::string> flags;
  if (is_client_bound(in)) flags.push_back("client_bound");
  if (in.errors > 0) flags.push_back("errors");
  if (in.starved) flags.push_back("starved");
  if (in.open && in.offered_rps && in.achieved_rps < overloaded_below_offered * *in.offered_rps)
    flags.push_back("overloaded");
  if (in.downstream_utilization && *in.downstream_utilization >= downstream_bound_utilization)
    flags.push_back("downstream_bound");
  if (in.noisy_machine) flags.push_back("noisy_machine");
  return flags;
}

double measurement::client_utilization() const {
  return load.wall_s > 0 ? load.client_cpu_s / (load.wall_s * std::max<size_t>(1, client_cpus)) : 0;
}

flag_inputs measurement::inputs() const {
  flag_inputs in;
  in.open = identity.key.open();
  in.client_utilization = client_utilization();
  if (load.send_lag) in.send_lag_p99_us = load.send_lag->p99;
  in.offered_rps = load.offered_rate_rps;
  if (in.open && !in.offered_rps) in.offered_rps = identity.key.rate;
  in.achieved_rps = load.achieved_rps;
  in.errors = load.errors.total();
  in.starved = starved;
  if (downstream) in.downstream_utilization = downstream->utilization();
  in.noisy_machine = machine && machine->noisy();
  if (load.per_host.is_array())
    for (const auto& host : load.per_host) in.a_load_host_bound |= host.value("client_bound", false);
  return in;
}

uint64_t measurement::gateway_requests() const {
  return load.responses + static_cast<uint64_t>(std::max(0, canary.responses));
}

json measurement::to_json(const std::filesystem::path& run_folder) const {
  const auto& l = load.latency;
  json latency = {{"p50", l.p50}, {"p90", l.p90}, {"p99", l.p99},
                  {"p99_9", l.p99_9}, {"max", l.max}, {"mean", l.mean}};
  if (l.p75) latency["p75"] = *l.p75;
  if (l.p99_99) latency["p99_99"] = *l.p99_99;
  if (l.stdev) latency["stdev"] = *l.stdev;
  const double utilization = client_utilization();
  const auto in = inputs();
  // "requests" keeps v1's meaning: answered requests (what CPU per request divides by).
  const uint64_t answered = load.responses;
  json record = identity.to_json();
  record.update({
      {"duration_s", load.duration_s},
      {"status", "ok"},
      {"reason", nullptr},
      {"requests", answered},
      {"requests_per_s", load.achieved_rps},
      {"offered_rate_rps", load.offered_rate_rps ? json(*load.offered_rate_rps) : json(nullptr)},
      {"latency_us", latency},
      {"errors",
       {{"connect", load.errors.connect}, {"read", load.errors.read}, {"write", load.errors.write},
        {"timeout", load.errors.timeout}, {"status", load.errors.status}}},
      {"server_stats",
       {{"cpu_user_s", server.cpu_user_s},
        {"cpu_sys_s", server.cpu_sys_s},
        {"cpu_us_per_request",
         answered > 0 ? json((server.cpu_user_s + server.cpu_sys_s) * 1e6 / answered) : json(nullptr)},
        {"rss_peak_kb", server.rss_peak_kb},
        {"vm_hwm_kb", server.vm_hwm_kb},
        {"rss_samples", server.rss_samples},
        {"threads_max", server.threads_max},
        {"processes", server.processes},
        {"voluntary_ctxt_switches", server.voluntary_ctxt_switches},
        {"nonvoluntary_ctxt_switches", server.nonvoluntary_ctxt_switches},
        {"minor_faults", server.minor_faults},
        {"major_faults", server.major_faults}}},
      {"client", {{"cpu_s", load.client_cpu_s}, {"cpu_utilization", utilization}}},
      {"client_bound", is_client_bound(in)},
      {"canary", canary.to_json()},
      {"flags", measurement_flags(in)}});
  if (load.generator == "wrk") {
    record["wrk_threads"] = load.threads;
    record["latency_reachable_fraction"] = load.latency_reachable_fraction;
  } else {
    record["generator_threads"] = load.threads;
    record["requests_sent"] = load.requests;
  }
  if (load.bytes) record["bytes"] = *load.bytes;
  if (!load.arrivals.empty()) record["arrivals"] = load.arrivals;
  if (load.first_error) record["first_error"] = *load.first_error;
  if (load.reported_achieved_rps) record["reported_achieved_rps"] = *load.reported_achieved_rps;
  if (load.window_and_drain_s) record["window_and_drain_s"] = *load.window_and_drain_s;
  if (load.send_lag)
    record["send_lag_us"] = {{"p50", load.send_lag->p50}, {"p99", load.send_lag->p99},
                             {"max", load.send_lag->max}};
  if (load.connections_opened) record["connections_opened"] = *load.connections_opened;
  if (server.gc) record["server_stats"]["gc"] = server.gc->to_json();
  if (machine) record["machine"] = machine->to_json();
  if (load.per_host.is_array()) {
    record["load_hosts"] = load.per_host;
    record["latency_merge"] = load.latency_merge;
  }
  if (downstream) {
    const auto& d = *downstream;
    const uint64_t requests = gateway_requests();
    record["downstream"] = {
        {"delay", d.delay},
        {"threads", d.threads},
        {"cpu_s", d.cpu_s},
        {"cpu_utilization", d.utilization()},
        {"calls", d.calls},
        {"calls_per_request", requests > 0 ? json(static_cast<double>(d.calls) / requests) : json(nullptr)},
        {"cancelled", d.cancelled},
        {"in_flight_after", d.in_flight_after}};
  }
  if (load.histogram_file) {
    std::error_code ec;
    auto relative = std::filesystem::relative(*load.histogram_file, run_folder, ec);
    record["histogram_file"] = (ec || relative.empty() ? *load.histogram_file : relative).string();
  }
  return record;
}

json failed_measurement_json(const measurement_identity& identity, const std::string& reason,
                             bool server_died) {
  json record = identity.to_json();
  json flags = json::array();
  if (server_died) flags.push_back("server_died");
  record.update({{"status", "failed"}, {"reason", reason}, {"flags", flags}});
  return record;
}

}  // namespace lab
