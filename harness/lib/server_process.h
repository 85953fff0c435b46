// A server under test, started from its server.json on a free loopback port. It counts as
// ready only when *this* process has printed the contract's listening line naming that port
// and the port accepts a connection, so a port taken by another test's server can never pass
// for ready. Stopping it (SIGTERM or SIGINT to its process group) reports how it exited and any
// sanitizer report in its stderr, because the contract says a stopped server exits with 0.
// Used by the conformance tests, verify, measurements and cold starts alike.
// Not thread-safe: one owner per server_process.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "process.h"
#include "registry.h"

namespace lab {

struct server_start_options {
  placeholders values;  // host, threads, idle timeout, bin, root, tmp; the port is chosen here
  std::vector<int> cpus;                            // pin the server here; empty: any CPU
  std::filesystem::path stdout_path, stderr_path;   // both required
  std::vector<std::pair<std::string, std::string>> env;
  std::chrono::milliseconds ready_timeout{30000};
  int attempts = 3;  // a port taken between pick and bind makes the server exit: try another
  // A server that floods its stdout keeps only this much of it (process.h, max_stdout_bytes):
  // the run goes on, the disk does not fill.
  size_t max_stdout_bytes = 64u << 20;
  // Runs the command on another host (harness/hosts/on_host --hosts FILE NAME --). A port
  // there cannot be tried from here, so it is drawn from 20000-39999 (a taken one makes the
  // server exit, and the next attempt draws another).
  std::vector<std::string> command_prefix;
};

// Why a start failed. `exited`: the server exited before it was ready (its stderr tail is in
// what()); otherwise it hung or could not be spawned.
struct server_start_error : std::runtime_error {
  server_start_error(const std::string& what, bool exited)
      : std::runtime_error(what), exited(exited) {}
  bool exited;
};

// How a stopped server ended.
struct server_exit {
  std::string description;       // "exited with 0", "killed by SIGKILL", ...
  bool exited_in_time = false;   // it exited within the grace period after the signal
  std::optional<int> exit_code;  // set if it exited normally
  std::string sanitizer_report;  // the first lines of a sanitizer report in its stderr, or ""
  // The contract: exit status 0 within the grace period, and no sanitizer report.
  bool clean() const { return exited_in_time && exit_code == 0 && sanitizer_report.empty(); }
  std::string describe() const;
};

class server_process {
 public:
  // Picks a free port on values.host, renders the start command, spawns it and waits until it
  // is ready (see above). Throws server_start_error.
  static server_process start(const server_spec& spec, const server_start_options& options);

  server_process() = default;
  server_process(server_process&&) noexcept = default;
  server_process& operator=(server_process&&) noexcept = default;

  int port() const { return port_; }
  pid_t pid() const { return child_.pid(); }
  bool running() { return child_.running(); }
  child_process& child() { return child_; }
  const std::string& listening_line() const { return listening_line_; }
  const std::string& command() const { return command_; }
  const std::filesystem::path& stderr_path() const { return stderr_path_; }
  std::string stderr_tail(size_t max_bytes = 2000) const;

  // Sends `signal` (SIGTERM by default) to the server's process group, waits up to `grace`,
  // then kills it. Also reports a server that had already exited on its own.
  server_exit stop(std::chrono::milliseconds grace = std::chrono::seconds(5), int signal = 15);

 private:
  child_process child_;
  int port_ = 0;
  std::string listening_line_, command_;
  std::filesystem::path stdout_path_, stderr_path_;
};

// The line "listening on HOST:PORT ..." in a server's stdout that names `port`, if any.
std::optional<std::string> find_listening_line(const std::string& stdout_text, int port);

// The start of the first AddressSanitizer / UndefinedBehaviorSanitizer / ThreadSanitizer /
// LeakSanitizer report in a server's stderr (up to ~1,500 bytes), or "".
std::string find_sanitizer_report(const std::string& stderr_text);

}  // namespace lab
