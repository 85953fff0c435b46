// blocking_server.h — what the two blocking models (thread_per_request, thread_pool) share:
// a listening socket, the blocking per-connection loop, /gateway's blocking fan-out, and an
// orderly stop. They differ in which thread runs serve_connection() — a new one per
// connection, or one from a pool — and in who makes a /gateway's parallel calls (a
// parallel_runner: a thread per call, or a pool of caller threads).
//
// Thread-safety: blocking_listener::accept() from one thread; everything on
// blocking_connections is thread-safe.
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_set>

#include "downstream_client.h"
#include "server_options.h"
#include "service.h"

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

// Runs call(i) for every i in [0, count) at the same time and returns once every call has
// returned. The calls return by `deadline` on their own (their sockets poll with the time
// left); a runner that queues calls must drop the ones still queued when it passes.
using parallel_runner = std::function<void(std::uint32_t count, const std::function<void(std::uint32_t)>& call,
                                           deadline_point deadline)>;

// /gateway on a blocking thread: sequential calls run on the calling thread, parallel ones
// through `run`. The first failure (502) or the deadline (504) cancels the calls still
// outstanding (call_canceller: their sockets are shut down and closed); so does a cancel()
// from outside (a stopping server). `client` may be disabled (no --downstream): 502 at once.
gateway_result blocking_gateway(downstream_client& client, const gateway_call& call,
                                const parallel_runner& run, call_canceller& canceller);

// The open connections of a blocking server, so that a stop can wake the threads blocked in
// recv() or in /sleep, and wait for them to finish.
class blocking_connections {
 public:
  // `client` and `run` serve /gateway (blocking_gateway); both must outlive this object.
  blocking_connections(std::chrono::seconds idle_timeout, downstream_client& client,
                       parallel_runner run)
      : idle_timeout_(idle_timeout), client_(client), run_(std::move(run)) {}

  // Serves one connection to the end (its requests one after another, in this thread), then
  // closes the socket. /sleep blocks this thread; /compute runs on it; /gateway blocks it
  // until its fan-out is over.
  void serve_connection(int fd);

  // serve_connection in two steps, for a server that hands each connection to a new thread:
  // admit() registers it on the accepting thread (false, and the socket closed, once
  // stopping), so that stop() waits for it even if its thread has not started yet — a
  // detached thread that registered itself could do so after stop() returned and this object
  // was destroyed (UBSan, at shutdown). serve_admitted() then serves it on its own thread.
  bool admit(int fd);
  void serve_admitted(int fd);

  // Wakes every served connection (shutdown of its socket, end of its sleep, cancellation of
  // its /gateway calls) and waits up to
  // `grace` for them to close. New connections are refused from now on.
  void stop(std::chrono::milliseconds grace);
  bool stopping() const;

 private:
  bool enter(int fd);
  void leave(int fd);
  bool sleep_unless_stopped(std::chrono::milliseconds duration);
  // /gateway, cancelled by stop(); nullopt when stopped.
  std::optional<gateway_result> gateway_unless_stopped(const gateway_call& call);

  const std::chrono::seconds idle_timeout_;
  downstream_client& client_;
  const parallel_runner run_;
  mutable std::mutex mutex_;
  std::condition_variable stop_requested_;     // wakes /sleep waits at stop only
  std::condition_variable connection_closed_;  // wakes stop() while it waits
  std::unordered_set<int> open_;
  std::unordered_set<call_canceller*> gateways_;  // fan-outs in progress
  bool stopping_ = false;
};

// SIGINT/SIGTERM handling for servers without an event loop: call block_stop_signals() in
// main() before starting any thread (threads inherit the mask), later wait_for_stop_signal().
void block_stop_signals();
int wait_for_stop_signal();

}  // namespace lab
