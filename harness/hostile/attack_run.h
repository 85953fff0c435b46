// One attack measurement (`./lab attack`): a server started fresh, an attack put in place
// (none, slowloris or an idle-connection flood), then for `seconds` a well-behaved closed-loop
// client (keep-alive connections opened after the attack is in place) and a fresh-connection
// probe every 500 ms measure what the server still serves, while its process group is sampled
// for threads and RSS. The data model, its JSON and the markdown table live here; lab_attack.cpp
// runs the servers one after another. Not thread-safe: one measurement at a time.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lab {

enum class attack_kind { none, slowloris, flood };
std::string to_string(attack_kind kind);

struct attack_settings {
  double seconds = 10;         // the client's measuring time under the attack
  int slow_clients = 1000;     // slowloris connections
  int flood_connections = 5000;  // idle connections
  int client_connections = 2;  // the well-behaved client's keep-alive connections
  std::chrono::milliseconds request_timeout{2000};  // a request not answered by then: a timeout
};

struct attack_measurement {
  std::string server;
  attack_kind kind = attack_kind::none;
  int attackers_wanted = 0, attackers_open = 0, attackers_closed_by_server = 0;
  double seconds = 0;
  long answered = 0, timeouts = 0, errors = 0;  // the well-behaved client's requests
  double requests_per_s = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;  // answered requests only
  int probes = 0, probes_answered = 0;        // fresh connections, GET /plaintext within 2 s
  int threads_before = 0, threads_max = 0, threads_after = 0;
  double rss_before_mib = 0, rss_max_mib = 0, rss_after_mib = 0;
  bool server_survived = true;
  std::string failure;  // why it could not be measured ("" if it was)

  nlohmann::json to_json() const;
};

// Runs the attack against a live server on host:port whose process group is pgid. Must be
// called with this process already pinned to the client CPUs.
attack_measurement measure_attack(const std::string& host, int port, int pgid, attack_kind kind,
                                  const attack_settings& settings);

// The results table: one row per server and attack.
std::string attack_markdown(const std::vector<attack_measurement>& rows,
                            const attack_settings& settings);

}  // namespace lab
