// Child processes that are never left behind: each child leads its own process group, is
// registered in a global table, and is stopped (SIGTERM to the group, then SIGKILL) and reaped
// by its destructor, by stop(), or by the handlers of install_child_cleanup_handlers() when the
// harness itself is interrupted. child_process objects are not thread-safe; the global table is.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace lab {

struct spawn_options {
  std::filesystem::path cwd;                        // empty: inherit
  std::filesystem::path stdout_path, stderr_path;   // empty: /dev/null
  std::vector<int> cpus;                            // sched_setaffinity before exec; empty: any
  std::vector<std::pair<std::string, std::string>> env;  // added to (or replacing in) environ
  // PR_SET_PDEATHSIG: the child gets SIGKILL if the harness dies without cleaning up (e.g. it
  // is SIGKILLed by a ctest timeout). Linux ties this to the *thread* that spawned the child,
  // so spawn from a thread that outlives the child, or turn it off.
  bool die_with_parent = true;
  // > 0: stdout goes through a pipe to stdout_path, of which only the first max_stdout_bytes
  // are kept (then one line saying so); the rest is read and dropped, so a child that floods
  // its stdout neither fills the disk nor blocks on a full pipe. 0: stdout_path directly.
  size_t max_stdout_bytes = 0;
};

class output_pump;  // process.cpp: the thread behind max_stdout_bytes

class child_process {
 public:
  // Starts argv[0] (searched on PATH) in a new process group. Throws std::runtime_error if
  // fork or exec fails; the exec errno comes back through a CLOEXEC pipe.
  static child_process spawn(const std::vector<std::string>& argv, const spawn_options& options);

  child_process() = default;
  child_process(child_process&& other) noexcept;
  child_process& operator=(child_process&& other) noexcept;
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process();  // stop()

  pid_t pid() const { return pid_; }
  bool running();                      // reaps without blocking
  std::optional<int> exit_status();    // raw wait status once reaped, nullopt while running
  std::string describe_exit() const;   // "running", "exited with 1", "killed by SIGSEGV"
  // Waits up to `timeout` for the child to exit; returns the raw wait status if it did.
  std::optional<int> wait_for(std::chrono::milliseconds timeout);
  // `signal` (SIGTERM unless told) to the whole group, wait up to `grace`, then SIGKILL the
  // group; always reaps. Returns true if the child exited within the grace period (false if it
  // had to be killed, or was not running).
  bool stop(std::chrono::milliseconds grace = std::chrono::seconds(3), int signal = 15);

 private:
  void reaped(int status);
  pid_t pid_ = -1;              // -1: no child (moved-from or default)
  std::optional<int> status_;   // raw wait status once reaped
  std::shared_ptr<output_pump> pump_;  // set when max_stdout_bytes > 0; ends after the child
};

// SIGINT/SIGTERM and atexit: SIGKILL every live child group, then re-raise the signal.
// Idempotent.
void install_child_cleanup_handlers();

// Number of spawned children not yet reaped (for tests that check nothing is left behind).
size_t live_child_count();

// Binds host:0, reads the port the kernel chose, closes. (A race is possible; callers retry.)
int pick_free_port(const std::string& host = "127.0.0.1");

// Polls connect() until it succeeds. False on timeout or if `child` (may be null) exits.
bool wait_until_accepting(const std::string& host, int port, std::chrono::milliseconds timeout,
                          child_process* child);

// The last max_bytes of a file (e.g. a server's stderr), "" if unreadable.
std::string tail_file(const std::filesystem::path& path, size_t max_bytes = 2000);

}  // namespace lab
