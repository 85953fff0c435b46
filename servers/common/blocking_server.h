// blocking_server.h — what the two blocking models (thread_per_request, thread_pool) share:
// a listening socket, the blocking per-connection loop, and an orderly stop. They differ only
// in which thread runs serve_connection() — a new one per connection, or one from a pool.
//
// Thread-safety: blocking_listener::accept() from one thread; everything on
// blocking_connections is thread-safe.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <unordered_set>

#include "server_options.h"

namespace lab {

class blocking_listener {
 public:
  explicit blocking_listener(const server_options& options);  // throws std::system_error
  ~blocking_listener();
  std::uint16_t port() const { return port_; }
  // Blocks until a client connects; returns its socket, or -1 once close() was called.
  int accept();
  // Unblocks accept(); called from the stopping thread.
  void close();

 private:
  int fd_ = -1;
  std::uint16_t port_ = 0;
};

// The open connections of a blocking server, so that a stop can wake the threads blocked in
// recv() or in /sleep, and wait for them to finish.
class blocking_connections {
 public:
  explicit blocking_connections(std::chrono::seconds idle_timeout) : idle_timeout_(idle_timeout) {}

  // Serves one connection to the end (its requests one after another, in this thread), then
  // closes the socket. /sleep blocks this thread; /compute runs on it.
  void serve_connection(int fd);

  // Wakes every served connection (shutdown of its socket, end of its sleep) and waits up to
  // `grace` for them to close. New connections are refused from now on.
  void stop(std::chrono::milliseconds grace);
  bool stopping() const;

 private:
  bool enter(int fd);
  void leave(int fd);
  bool sleep_unless_stopped(std::chrono::milliseconds duration);

  const std::chrono::seconds idle_timeout_;
  mutable std::mutex mutex_;
  std::condition_variable stop_requested_;     // wakes /sleep waits at stop only
  std::condition_variable connection_closed_;  // wakes stop() while it waits
  std::unordered_set<int> open_;
  bool stopping_ = false;
};

// SIGINT/SIGTERM handling for servers without an event loop: call block_stop_signals() in
// main() before starting any thread (threads inherit the mask), later wait_for_stop_signal().
void block_stop_signals();
int wait_for_stop_signal();

}  // namespace lab
