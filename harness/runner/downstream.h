// The downstream service beside a server under test, for /gateway scenarios (docs/harness.md,
// "The downstream"): {bin}/downstream started through harness/lib's server_process (ready =
// its own listening line for the chosen port, then a connect; then GET /stats must answer 200),
// pinned to the *client* CPUs — it must be cheap and never the bottleneck, and the server keeps
// its own CPUs — with an idle timeout long enough that it never closes a server's pooled
// keep-alive connections between scenarios. Its GET /stats counters ({"served","in_flight",
// "cancelled"}) are read before and after each measurement, whose record keeps the deltas.
// One owner per running_downstream; not thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "launch.h"
#include "registry.h"
#include "server_process.h"
#include "suite.h"

namespace lab {

// Seconds the downstream keeps an idle keep-alive connection (the most it accepts): a server's
// pooled connections must outlive every pause of a block (warm-ups, other scenarios).
inline constexpr int downstream_idle_timeout_s = 3600;

// The downstream's GET /stats.
struct downstream_stats {
  uint64_t served = 0, in_flight = 0, cancelled = 0;
};

// Parses a /stats body; throws std::runtime_error naming what is missing or wrong.
downstream_stats parse_downstream_stats(const std::string& body);

// The server_spec of {bin}/downstream with `config` (argv with {host} {port} {bin}; built_file
// {bin}/downstream), as server_process starts any server.
server_spec downstream_spec(const downstream_config& config);

class running_downstream {
 public:
  // Starts it on a free port of settings.host, pinned to `cpus`, logs in
  // settings.logs/<log_stem>.stdout|stderr, and checks GET /stats. Throws server_start_error
  // (not built, no listening line, exited) or std::runtime_error (/stats did not answer 200).
  static running_downstream start(const downstream_config& config, const launch_settings& settings,
                                  const std::vector<int>& cpus, const std::string& log_stem);

  running_downstream(running_downstream&&) noexcept = default;
  running_downstream& operator=(running_downstream&&) noexcept = default;
  ~running_downstream();  // stop() if not stopped yet

  const downstream_config& config() const { return config_; }
  // HOST:PORT, what the server's {downstream} names.
  std::string address() const { return host_ + ":" + std::to_string(process_.port()); }
  const std::string& host() const { return host_; }
  int port() const { return process_.port(); }
  pid_t pid() const { return process_.pid(); }
  server_process& process() { return process_; }
  bool running() { return !stopped_ && process_.running(); }
  std::string stderr_tail(size_t max_bytes = 800) const { return process_.stderr_tail(max_bytes); }

  // GET /stats (fresh connection); throws std::runtime_error / http_error.
  downstream_stats stats(std::chrono::milliseconds timeout = std::chrono::seconds(5)) const;

  // SIGTERM, up to `grace`, then SIGKILL; how it ended. Idempotent.
  server_exit stop(std::chrono::milliseconds grace = std::chrono::seconds(5));

 private:
  running_downstream() = default;
  downstream_config config_;
  std::string host_;
  server_process process_;
  bool stopped_ = false;
  server_exit exit_;
};

}  // namespace lab
