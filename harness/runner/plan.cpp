#include "plan.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cmath>
#include <random>

namespace lab {
namespace {

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

const scenario* find_scenario(const suite& s, const std::string& name) {
  for (const auto& sc : s.scenarios)
    if (sc.name == name) return &sc;
  return nullptr;
}

}  // namespace

bool is_loopback_host(const std::string& host) {
  if (host == "localhost" || host == "::1") return true;
  in_addr addr{};
  if (inet_pton(AF_INET, host.c_str(), &addr) != 1) return false;
  return (ntohl(addr.s_addr) >> 24) == 127;
}

std::vector<server_spec> select_servers(const std::vector<server_spec>& all,
                                        const std::vector<std::string>& names) {
  std::vector<server_spec> out;
  if (names.empty()) {
    // Variants ("event_loop+tbb") run only when named: the default run compares the models.
    for (const auto& s : all)
      if (s.enabled && s.name.find('+') == std::string::npos) out.push_back(s);
    return out;
  }
  std::vector<std::string> valid;
  for (const auto& s : all) valid.push_back(s.name);
  for (const auto& name : names) {
    auto it = std::find_if(all.begin(), all.end(), [&](const server_spec& s) { return s.name == name; });
    if (it == all.end())
      throw registry_error("unknown server '" + name + "'; valid servers: " + join(valid));
    if (std::none_of(out.begin(), out.end(), [&](const server_spec& s) { return s.name == name; }))
      out.push_back(*it);
  }
  return out;
}

std::vector<planned_block> plan_run(const suite& s, const std::vector<std::string>& servers,
                                    unsigned long long seed) {
  std::mt19937_64 rng(seed);
  std::vector<planned_block> plan;
  for (int rep = 0; rep < s.repetitions; ++rep) {
    std::vector<std::string> order = servers;
    // Fisher–Yates with our own index draw: std::shuffle's sequence is library-specific, and a
    // recorded seed must reproduce the same order elsewhere.
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
    for (const auto& server : order) {
      planned_block block{rep, server, {}, {}};
      for (const auto& sc : s.scenarios) {
        measurement_key base{server, sc.name, to_string(sc.load), 0, sc.pipeline, rep, 0};
        if (!sc.is_open()) {
          for (int c : sc.connections) {
            auto key = base;
            key.connections = c;
            block.measurements.push_back({key, std::nullopt});
          }
          continue;
        }
        base.connections = sc.connection_cap();
        for (double rate : sc.rates) {
          auto key = base;
          key.rate = std::round(rate);
          block.measurements.push_back({key, std::nullopt});
        }
        for (double fraction : sc.rate_fractions) block.measurements.push_back({base, fraction});
        if (rep == 0 && sc.slo_p99_ms) block.searches.emplace_back(sc.name, sc.capacity_search_steps);
      }
      plan.push_back(std::move(block));
    }
  }
  return plan;
}

double rate_from_fraction(double fraction, double probe_rps) {
  return std::max(1.0, std::round(fraction * probe_rps));
}

void resolve_rates(std::vector<planned_measurement>& measurements, const std::string& server,
                   const std::string& scenario, double probe_rps) {
  for (auto& m : measurements)
    if (m.rate_fraction && m.key.server == server && m.key.scenario == scenario)
      m.key.rate = rate_from_fraction(*m.rate_fraction, probe_rps);
}

void resolve_rates(std::vector<planned_block>& blocks,
                   const std::map<std::pair<std::string, std::string>, double>& probe_rps) {
  for (auto& block : blocks)
    for (auto& m : block.measurements)
      if (m.rate_fraction)
        if (auto it = probe_rps.find({m.key.server, m.key.scenario}); it != probe_rps.end())
          m.key.rate = rate_from_fraction(*m.rate_fraction, it->second);
}

std::vector<planned_block> remaining_blocks(
    const std::vector<planned_block>& plan, const std::set<measurement_key>& finished,
    const std::set<std::pair<std::string, std::string>>& searches_done) {
  std::vector<planned_block> out;
  for (const auto& block : plan) {
    planned_block left{block.repetition, block.server, {}, {}};
    for (const auto& m : block.measurements)
      if (!m.resolved() || !finished.count(m.key)) left.measurements.push_back(m);
    for (const auto& search : block.searches)
      if (!searches_done.count({block.server, search.first})) left.searches.push_back(search);
    if (!left.measurements.empty() || !left.searches.empty()) out.push_back(std::move(left));
  }
  return out;
}

std::set<std::pair<std::string, std::string>> probes_needed(const std::vector<planned_block>& blocks) {
  std::set<std::pair<std::string, std::string>> out;
  for (const auto& block : blocks)
    for (const auto& m : block.measurements)
      if (!m.resolved()) out.emplace(m.key.server, m.key.scenario);
  return out;
}

double verify_seconds(size_t servers, int jobs) {
  const size_t j = static_cast<size_t>(std::max(1, jobs));
  double total = 0;
  for (size_t left = servers; left > 0; left -= std::min(left, j))
    total += verify_alone_s + (std::min(left, j) - 1) * verify_extra_per_job_s;
  return total;
}

double estimate_seconds(const suite& s, const std::vector<planned_block>& blocks,
                        size_t servers_to_verify, size_t servers_to_cold_start, int verify_jobs) {
  double total = verify_seconds(servers_to_verify, verify_jobs);
  auto probes = probes_needed(blocks);
  for (const auto& block : blocks) {
    total += server_start_cost_s + s.primer_s + step_overhead_s;
    std::vector<std::string> scenarios;
    auto touch = [&](const std::string& name) {
      if (std::find(scenarios.begin(), scenarios.end(), name) == scenarios.end()) scenarios.push_back(name);
    };
    auto seconds_of = [&](const std::string& name) {
      const scenario* sc = find_scenario(s, name);
      return (sc ? measurement_seconds(s, *sc) : s.duration_s) + step_overhead_s;
    };
    for (const auto& m : block.measurements) {
      touch(m.key.scenario);
      total += seconds_of(m.key.scenario);
    }
    for (const auto& [name, steps] : block.searches) {
      touch(name);
      total += steps * seconds_of(name);
    }
    // A scenario whose downstream differs from the one the server runs with restarts it
    // (block.cpp): one more start and primer each time.
    std::optional<downstream_config> current;
    bool first = true;
    for (const auto& name : scenarios) {
      const scenario* sc = find_scenario(s, name);
      if (!sc || !sc->downstream) continue;
      if (!first && current != sc->downstream) total += server_start_cost_s + s.primer_s + step_overhead_s;
      current = sc->downstream;
      first = false;
    }
    for (const auto& name : scenarios) {
      const scenario* sc = find_scenario(s, name);
      // The first block that needs a probe runs it instead of the warm-up.
      if (sc && probes.erase({block.server, name}))
        total += sc->probe.duration_s + step_overhead_s;
      else
        total += s.warmup_s + step_overhead_s;
    }
  }
  total += servers_to_cold_start * s.startup_runs * cold_start_cost_s;
  return total;
}

}  // namespace lab
