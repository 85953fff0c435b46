// downstream_client.h — the outgoing side of /gateway: one process-wide pool of keep-alive
// connections to the downstream service (docs/service-contract.md, "The downstream service"),
// and `GET /delay?ms=M&i=I` calls over it, written and parsed by Boost.Beast's request
// serializer and response parser. Two faces share the pool and the parsing:
//   - call_blocking() (thread_per_request, thread_pool): a non-blocking socket driven by poll()
//     with the time left to the deadline; call_canceller shuts sockets down to cancel;
//   - async_call() in downstream_async.h (event_loop, fiber, coroutine): an Asio operation that
//     honours per-operation (terminal) cancellation.
// A connection goes back to the pool only after a complete 200 answer that allowed keep-alive;
// a failure, a timeout or a cancellation closes it, so the downstream sees a cancelled call as
// a closed connection. At most --downstream-pool connections are open at once; a call that
// finds none free waits for one, and that wait is part of its time and its deadline.
//
// Thread-safety: downstream_pool, downstream_client and call_canceller are thread-safe.
#pragma once
#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "server_options.h"
#include "service.h"

namespace lab {

using deadline_point = std::optional<std::chrono::steady_clock::time_point>;  // nullopt: none

// The connections to one downstream: idle keep-alive sockets (plain descriptors, so either
// face can adopt them) and a count of open ones bounded by `limit`.
class downstream_pool {
 public:
  // Someone waiting for a connection. grant() is called with the pool's lock held, so it
  // must only record the grant and wake its owner, never call back into the pool.
  struct waiter {
    virtual void grant(int fd) = 0;  // fd >= 0: an idle connection; -1: a slot to open one
   protected:
    ~waiter() = default;
  };

  explicit downstream_pool(std::size_t limit) : limit_(limit) {}
  ~downstream_pool();  // closes the idle connections
  downstream_pool(const downstream_pool&) = delete;
  downstream_pool& operator=(const downstream_pool&) = delete;

  // An idle connection (>= 0) or a free slot to open one (-1). When neither is free: nullopt,
  // and `w` (if not null) joins the queue; its grant() comes once a connection is released.
  std::optional<int> acquire(waiter* w);
  // Blocks until a connection or slot is free, the deadline passes or `cancelled` is set.
  std::optional<int> acquire_until(deadline_point deadline, const std::atomic<bool>& cancelled);
  // Leaves the queue. True if `w` was still queued; false if it had been granted already
  // (then the grant is the caller's, to use or release).
  bool withdraw(waiter* w);
  // Gives back what acquire() or a grant handed out: a healthy keep-alive connection
  // (reusable) or a slot (fd -1, or a connection the caller has already closed).
  void release(int fd, bool reusable);
  // Wakes acquire_until() callers so they re-check their cancelled flag.
  void wake_blocking_waiters();

  std::size_t limit() const { return limit_; }
  std::size_t open_count() const;  // slots taken, idle connections included

 private:
  struct blocking_waiter;
  const std::size_t limit_;
  mutable std::mutex mutex_;
  std::condition_variable blocking_wake_;
  std::size_t open_ = 0;
  std::vector<int> idle_;
  std::deque<waiter*> waiters_;  // first come, first granted
};

// The most body a downstream answer may have (Beast's body_limit on both faces); a longer one
// fails the call.
inline constexpr std::uint64_t delay_answer_body_limit = 64 * 1024;

// The downstream's answer to call i: 200 with a JSON body {"i":..,"ms":..} of two unsigned
// 32-bit numbers, or nullopt (non-200, unparsable, missing or out-of-range fields).
std::optional<gateway_answer> decode_delay_answer(
    const boost::beast::http::response<boost::beast::http::string_body>& response);

// GET /delay?ms=M&i=I HTTP/1.1 with a Host header.
boost::beast::http::request<boost::beast::http::empty_body> make_delay_request(
    const std::string& host, std::uint32_t index, std::uint32_t ms);

// True when an idle keep-alive descriptor has been closed or written to by the downstream
// while it sat in the pool (it must not be reused: the call would fail for no reason).
bool idle_connection_is_stale(int fd);

// Where a blocking fan-out's calls register their sockets, so that one failure or the
// deadline can cancel the others: cancel() shuts every registered socket down (the blocked
// poll() wakes, the downstream sees the connection close) and wakes pool waiters.
class call_canceller {
 public:
  explicit call_canceller(downstream_pool& pool) : pool_(pool) {}
  bool enter(int fd);  // false when already cancelled (the caller closes fd itself)
  bool leave(int fd);  // false when fd was shut down while registered (do not reuse it)
  void cancel();
  bool cancelled() const { return cancelled_.load(); }
  const std::atomic<bool>& flag() const { return cancelled_; }

 private:
  downstream_pool& pool_;
  std::mutex mutex_;
  std::vector<int> fds_;
  std::atomic<bool> cancelled_{false};
};

enum class call_outcome { answered, failed, timed_out, cancelled };

class downstream_client {
 public:
  // Resolves options.downstream ("HOST:PORT") once, now; throws std::runtime_error when it
  // cannot. Without --downstream the client is disabled and /gateway answers 502.
  explicit downstream_client(const server_options& options);

  bool enabled() const { return enabled_; }
  const boost::asio::ip::tcp::endpoint& endpoint() const { return endpoint_; }
  const std::string& host() const { return host_; }
  downstream_pool& pool() { return pool_; }

  // One call on the calling thread: waits for a connection, sends the request, reads the
  // answer. Returns by the deadline; cancellation through `canceller` ends it early.
  call_outcome call_blocking(std::uint32_t index, std::uint32_t ms, deadline_point deadline,
                             call_canceller& canceller, gateway_answer& answer);

 private:
  int connect_blocking(deadline_point deadline, call_outcome& outcome);

  bool enabled_ = false;
  boost::asio::ip::tcp::endpoint endpoint_;
  std::string host_;  // the Host header: HOST:PORT as given
  downstream_pool pool_;
};

// The time point `ms` after `start`, or none for 0 (gateway_call::deadline_ms's convention).
deadline_point gateway_deadline(std::chrono::steady_clock::time_point start, std::uint32_t ms);

}  // namespace lab
