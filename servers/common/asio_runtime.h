// asio_runtime.h — what the three Boost.Asio models (event_loop, fiber, coroutine) share:
// one io_context per thread, one acceptor handing connections round-robin to them, SIGINT/
// SIGTERM handling, the idle-connection watchdog and the optional oneTBB /compute offload.
// The models differ only in how a connection's code waits: completion handlers, a stackful
// fiber (asio::spawn) or a C++20 coroutine (co_await).
//
// Thread-safety: io_context_pool and tcp_acceptor are driven from the thread calling run();
// an idle_watchdog belongs to its connection's io_context; compute_offload is thread-safe.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <oneapi/tbb/task_arena.h>

#include "compute.h"
#include "server_options.h"

namespace lab {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class io_context_pool {
 public:
  explicit io_context_pool(int threads);
  asio::io_context& first() { return *contexts_.front(); }
  asio::io_context& next();  // round-robin, for new connections
  // Runs every context, context 0 on the calling thread; returns once stop() was called.
  void run();
  void stop();

 private:
  std::vector<std::unique_ptr<asio::io_context>> contexts_;
  std::size_t next_ = 0;
};

// Accepts on the first io_context and gives each new socket, bound to the next io_context of
// the pool, to `on_connection` (called on the acceptor's thread; start work on the socket's
// own executor). SIGINT/SIGTERM close it and stop the pool.
class tcp_acceptor {
 public:
  using connection_handler = std::function<void(tcp::socket)>;
  tcp_acceptor(io_context_pool& pool, const server_options& options, connection_handler on_connection);
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  void start();

 private:
  void do_accept();

  io_context_pool& pool_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  connection_handler on_connection_;
};

// Closes a connection's socket when it has waited longer than the idle timeout for its next
// request. One timer per connection that fires at most once per timeout period (it is not
// re-armed on every read), so keeping it costs a timestamp write per request.
class idle_watchdog {
 public:
  idle_watchdog(tcp::socket& socket, std::chrono::seconds timeout);
  ~idle_watchdog();
  idle_watchdog(const idle_watchdog&) = delete;
  idle_watchdog& operator=(const idle_watchdog&) = delete;

  void waiting_for_request();  // before each read
  void busy();                 // once bytes arrived: sleeping or computing is not idle

 private:
  struct state;
  static void schedule(const std::shared_ptr<state>& s, std::chrono::steady_clock::time_point at);
  std::shared_ptr<state> state_;
};

// Runs /compute on a oneTBB work-stealing arena when enabled (--offload tbb), so a long
// computation does not block the I/O thread (head-of-line blocking) — the result is posted
// back to the connection's executor.
class compute_offload {
 public:
  explicit compute_offload(bool enabled);
  bool enabled() const { return enabled_; }

  template <class CompletionToken>
  auto async_compute(asio::any_io_executor io, std::uint32_t n, CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(std::uint32_t)>(
        [this, io](auto handler, std::uint32_t units) {
          // shared_ptr: oneTBB's enqueue wants a copyable functor; Asio handlers are move-only.
          auto pending = std::make_shared<decltype(handler)>(std::move(handler));
          auto work = std::make_shared<asio::executor_work_guard<asio::any_io_executor>>(io);
          arena_.enqueue([pending, work, units] {
            const std::uint32_t result = compute_xorshift(units);
            asio::post(work->get_executor(), [pending, work, result] { std::move(*pending)(result); });
          });
        },
        token, n);
  }

 private:
  bool enabled_;
  oneapi::tbb::task_arena arena_;
};

// Runs an Asio model until SIGINT/SIGTERM: one io_context per --threads, the acceptor and
// the optional oneTBB offload. `start_connection` is called on the acceptor's thread for each
// new socket and must start the connection on the socket's own executor. `details` goes into
// the "listening" line. Returns main()'s exit status.
using connection_starter = std::function<void(tcp::socket, compute_offload&)>;
int run_asio_server(const server_options& options, const std::string& model,
                    const std::string& details, const connection_starter& start_connection);

}  // namespace lab
