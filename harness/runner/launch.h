// Starting and stopping a server under test for the run protocol: harness/lib's server_process
// (ready = its own listening line for the chosen port, then a connect; stop = SIGTERM to its
// group and a judged exit) plus what the runner adds — the server CPUs, {threads}, a fresh
// {tmp} folder per start under the run folder (removed at stop), and logs/<stem>.stdout|stderr.
// One owner per launched_server; not thread-safe.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "registry.h"
#include "server_process.h"

namespace lab {

struct launch_settings {
  std::string host = "127.0.0.1";
  std::filesystem::path bin, root;
  std::vector<int> cpus;           // server CPUs; {threads} is their count
  std::filesystem::path logs;      // logs/<stem>.stdout and .stderr
  std::filesystem::path tmp_root;  // each start gets a fresh {tmp} folder under it
  // {downstream}: HOST:PORT of a live downstream (downstream.h) for /gateway; empty keeps the
  // registry's default, where nothing listens (/gateway answers 502).
  std::string downstream;
  // --hosts (harness/hosts): argv prefixes that run the server and the downstream on their
  // hosts, and the downstream's address there; empty: here, on `host`.
  std::vector<std::string> server_prefix, downstream_prefix;
  std::string downstream_host;
};

// The placeholders of one start (the port is chosen by server_process).
placeholders placeholders_for(const launch_settings& settings, int idle_timeout_s);

// The server_process options of one start; creates its {tmp} folder (throws
// std::runtime_error if it cannot).
server_start_options start_options_for(const server_spec& spec, const launch_settings& settings,
                                       int idle_timeout_s, const std::string& log_stem);

class launched_server {
 public:
  // Starts and waits until ready. Throws server_start_error (its what() has the exit status
  // and the stderr tail).
  static launched_server start(const server_spec& spec, const launch_settings& settings,
                               int idle_timeout_s, const std::string& log_stem,
                               std::chrono::milliseconds ready_timeout = std::chrono::seconds(30));

  launched_server(launched_server&& other) noexcept;
  launched_server& operator=(launched_server&& other) noexcept;
  launched_server(const launched_server&) = delete;
  launched_server& operator=(const launched_server&) = delete;
  ~launched_server();  // stop() if not stopped yet

  int port() const { return process_.port(); }
  pid_t pid() const { return process_.pid(); }
  bool running() { return !exit_ && process_.running(); }
  server_process& process() { return process_; }
  std::string stderr_tail(size_t max_bytes = 800) const { return process_.stderr_tail(max_bytes); }

  // SIGTERM to the group, up to `grace` to exit, then SIGKILL; removes {tmp}. Idempotent: a
  // second call returns the first exit.
  const server_exit& stop(std::chrono::milliseconds grace = std::chrono::seconds(5));
  // "exited with 3 …; stderr tail": what to record for a server that died under load.
  std::string death_report();

 private:
  launched_server() = default;
  server_process process_;
  std::filesystem::path tmp_;
  std::optional<server_exit> exit_;
};

}  // namespace lab
