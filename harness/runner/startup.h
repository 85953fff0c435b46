// Cold starts: how long a server takes from exec to its first 200 from GET /plaintext, and its
// resident memory right then (idle). Each run starts the server through server_process (the
// readiness rule of harness/lib) while a watcher thread, timed from just before the spawn,
// learns the port from the server's own listening line and polls GET /plaintext with a fresh
// connection every ~1 ms; the first 200 ends the clock. The sample counts only if the port the
// watcher used is the one server_process judged ready (a port taken by someone else can never
// answer for the server). Not thread-safe (starts processes; owns the watcher thread).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "launch.h"
#include "registry.h"

namespace lab {

// The port in a server's "listening on HOST:PORT" line (the first one), if any.
std::optional<int> announced_port(const std::string& stdout_text);

struct cold_start {
  double time_to_first_response_ms = 0;
  uint64_t idle_rss_kb = 0;
};

// One cold start (logs/<spec.name>-startup.stdout|stderr). Throws std::runtime_error with the
// reason (exit status, stderr tail) when the server does not answer within `timeout`.
cold_start measure_cold_start(const server_spec& spec, const launch_settings& settings,
                              int idle_timeout_s,
                              std::chrono::milliseconds timeout = std::chrono::seconds(30));

// `runs` cold starts (stopping at the first failure) as the startup[] entry of results.json.
// `before_each(i)` is called before run i (progress).
nlohmann::json measure_cold_starts(const server_spec& spec, const launch_settings& settings,
                                   int idle_timeout_s, int runs,
                                   const std::function<void(int)>& before_each = {});

}  // namespace lab
