#include "attack_run.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <thread>

#include "attacks.h"
#include "http_client.h"
#include "proc_sampler.h"

namespace lab {

namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

double percentile(std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const size_t at = static_cast<size_t>(std::ceil(q * sorted.size())) - 1;
  return sorted[std::min(at, sorted.size() - 1)];
}

double mib(uint64_t kb) { return static_cast<double>(kb) / 1024.0; }

// The well-behaved client: one keep-alive connection, GET /plaintext in a closed loop until
// `until`. A timeout or error drops the connection and opens a new one.
void closed_loop(const std::string& host, int port, clock::time_point until,
                 std::chrono::milliseconds timeout, std::vector<double>& latencies_ms,
                 long& timeouts, long& errors) {
  std::optional<http_connection> c;
  while (clock::now() < until) {
    const auto started = clock::now();
    try {
      if (!c) c.emplace(host, port, timeout);
      auto r = c->request("GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", timeout);
      if (r.status == 200) {
        latencies_ms.push_back(std::chrono::duration<double, std::milli>(clock::now() - started).count());
      } else {
        ++errors;
        c.reset();
      }
    } catch (const http_error& e) {
      std::string what = e.what();
      (what.find("timed out") != std::string::npos ? timeouts : errors)++;
      c.reset();
      if (what.find("timed out") == std::string::npos) std::this_thread::sleep_for(50ms);
    }
  }
}

}  // namespace

std::string to_string(attack_kind kind) {
  switch (kind) {
    case attack_kind::none: return "none";
    case attack_kind::slowloris: return "slowloris";
    case attack_kind::flood: return "flood";
  }
  return "?";
}

nlohmann::json attack_measurement::to_json() const {
  nlohmann::json j = {{"server", server},
                      {"attack", to_string(kind)},
                      {"attackers", {{"wanted", attackers_wanted},
                                     {"open", attackers_open},
                                     {"closed_by_server", attackers_closed_by_server}}},
                      {"seconds", seconds},
                      {"client", {{"answered", answered},
                                  {"timeouts", timeouts},
                                  {"errors", errors},
                                  {"requests_per_s", requests_per_s},
                                  {"p50_ms", p50_ms},
                                  {"p99_ms", p99_ms},
                                  {"max_ms", max_ms}}},
                      {"fresh_connection_probes", {{"sent", probes}, {"answered", probes_answered}}},
                      {"threads", {{"before", threads_before}, {"max", threads_max}, {"after", threads_after}}},
                      {"rss_mib", {{"before", rss_before_mib}, {"max", rss_max_mib}, {"after", rss_after_mib}}},
                      {"server_survived", server_survived}};
  if (!failure.empty()) j["failure"] = failure;
  return j;
}

attack_measurement measure_attack(const std::string& host, int port, int pgid, attack_kind kind,
                                  const attack_settings& settings) {
  attack_measurement m;
  m.kind = kind;
  const proc_sample before = sample_process_group(pgid);
  m.threads_before = before.threads;
  m.rss_before_mib = mib(before.rss_kb);

  std::optional<attack::swarm> swarm;
  if (kind != attack_kind::none) {
    m.attackers_wanted = kind == attack_kind::flood ? settings.flood_connections : settings.slow_clients;
    swarm.emplace(host, port,
                  kind == attack_kind::flood ? attack::swarm::kind::idle : attack::swarm::kind::slowloris,
                  m.attackers_wanted, kind == attack_kind::flood ? 1000ms : 100ms);
    swarm->start();
    m.attackers_open = swarm->opened();
  }

  group_sampler sampler(pgid, 200ms);
  sampler.start();
  const auto started = clock::now();
  const auto until = started + std::chrono::duration_cast<clock::duration>(
                                   std::chrono::duration<double>(settings.seconds));
  std::vector<std::vector<double>> latencies(settings.client_connections);
  std::vector<long> timeouts(settings.client_connections), errors(settings.client_connections);
  std::vector<std::thread> clients;
  for (int i = 0; i < settings.client_connections; ++i)
    clients.emplace_back([&, i] {
      closed_loop(host, port, until, settings.request_timeout, latencies[i], timeouts[i], errors[i]);
    });
  // Fresh connections, one every 500 ms: does a newcomer get in at all?
  std::thread prober([&] {
    while (clock::now() + 500ms < until) {
      const auto next = clock::now() + 500ms;
      auto p = attack::probe_plaintext(host, port, 2000ms);
      ++m.probes;
      m.probes_answered += p.answered;
      std::this_thread::sleep_until(next);
    }
  });
  for (auto& t : clients) t.join();
  prober.join();
  m.seconds = std::chrono::duration<double>(clock::now() - started).count();
  if (swarm) {
    m.attackers_closed_by_server = swarm->closed_by_server();
    swarm->stop();
  }
  const auto samples = sampler.stop();
  for (const auto& s : samples) {
    m.threads_max = std::max(m.threads_max, s.sample.threads);
    m.rss_max_mib = std::max(m.rss_max_mib, mib(s.sample.rss_kb));
  }
  std::this_thread::sleep_for(1s);  // closed attackers' threads and buffers go away
  const proc_sample after = sample_process_group(pgid);
  m.server_survived = after.processes > 0;
  m.threads_after = after.threads;
  m.rss_after_mib = mib(after.rss_kb);

  std::vector<double> all;
  for (int i = 0; i < settings.client_connections; ++i) {
    all.insert(all.end(), latencies[i].begin(), latencies[i].end());
    m.timeouts += timeouts[i];
    m.errors += errors[i];
  }
  std::sort(all.begin(), all.end());
  m.answered = static_cast<long>(all.size());
  m.requests_per_s = m.seconds > 0 ? m.answered / m.seconds : 0;
  m.p50_ms = percentile(all, 0.50);
  m.p99_ms = percentile(all, 0.99);
  m.max_ms = all.empty() ? 0 : all.back();
  return m;
}

std::string attack_markdown(const std::vector<attack_measurement>& rows,
                            const attack_settings& settings) {
  char line[512];
  std::string out =
      "# Servers under attack\n\n"
      "A well-behaved closed-loop client (" + std::to_string(settings.client_connections) +
      " keep-alive connections, opened once the attack is in place; a request unanswered after " +
      std::to_string(settings.request_timeout.count()) +
      " ms counts as a timeout) and a fresh connection every 500 ms, for " +
      std::to_string(static_cast<int>(settings.seconds)) + " s per row, during: none, slowloris (" +
      std::to_string(settings.slow_clients) +
      " clients sending a header one byte per 100 ms) or a flood (" +
      std::to_string(settings.flood_connections) +
      " idle connections). Server on the server CPUs, attackers and client on the client CPUs; "
      "threads and RSS of the server's process group sampled every 200 ms.\n\n"
      "| server | attack | attackers open (closed by server) | req/s | p50 ms | p99 ms | timeouts | "
      "fresh connections answered | threads before / max / after | RSS MiB before / max / after |\n"
      "|---|---|---|---:|---:|---:|---:|---|---|---|\n";
  for (const auto& m : rows) {
    if (!m.failure.empty()) {
      std::snprintf(line, sizeof line, "| %s | %s | not measured: %s |||||||\n", m.server.c_str(),
                    to_string(m.kind).c_str(), m.failure.c_str());
      out += line;
      continue;
    }
    std::snprintf(line, sizeof line,
                  "| %s | %s | %d (%d) | %.0f | %.2f | %.2f | %ld | %d of %d | %d / %d / %d | "
                  "%.0f / %.0f / %.0f |%s\n",
                  m.server.c_str(), to_string(m.kind).c_str(), m.attackers_open,
                  m.attackers_closed_by_server, m.requests_per_s, m.p50_ms, m.p99_ms, m.timeouts,
                  m.probes_answered, m.probes, m.threads_before, m.threads_max, m.threads_after,
                  m.rss_before_mib, m.rss_max_mib, m.rss_after_mib,
                  m.server_survived ? "" : " **died**");
    out += line;
  }
  return out;
}

}  // namespace lab
