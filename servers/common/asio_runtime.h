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
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
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
// back to the connection's executor. The destructor waits until every task has run and let
// go of what it holds (the handler, a work guard on its io_context): oneTBB does not wait for
// enqueued tasks, and run_asio_server destroys the io_contexts right after this object, so a
// task finishing later touched a destroyed io_context (ASan, at shutdown).
class compute_offload {
 public:
  explicit compute_offload(bool enabled);
  ~compute_offload();
  compute_offload(const compute_offload&) = delete;
  compute_offload& operator=(const compute_offload&) = delete;
  bool enabled() const { return enabled_; }

  template <class CompletionToken>
  auto async_compute(asio::any_io_executor io, std::uint32_t n, CompletionToken&& token) {
    return asio::async_initiate<CompletionToken, void(std::uint32_t)>(
        [this, io](auto handler, std::uint32_t units) {
          // oneTBB's enqueue wants a copyable functor (and calls it as const), Asio handlers
          // are move-only: the functor carries a plain pointer to the handler and its work
          // guard, which the task hands to the posted completion. So nothing of the call stays
          // behind in whatever copies of the functor oneTBB keeps, or frees late.
          struct task_state {
            decltype(handler) pending;
            asio::executor_work_guard<asio::any_io_executor> work;
          };
          task_state* state = new task_state{std::move(handler), asio::make_work_guard(io)};
          task_started();
          arena_.enqueue([this, state, units] {
            const std::uint32_t result = compute_xorshift(units);
            std::unique_ptr<task_state> owned(state);
            const asio::any_io_executor target = owned->work.get_executor();
            asio::post(target, [owned = std::move(owned), result]() mutable {
              std::move(owned->pending)(result);
            });
            task_finished();  // the last use of this object by the task
          });
        },
        token, n);
  }

 private:
  void task_started();
  void task_finished();

  bool enabled_;
  oneapi::tbb::task_arena arena_;
  std::mutex mutex_;
  std::condition_variable idle_;
  std::size_t in_flight_ = 0;
};

// Runs an Asio model until SIGINT/SIGTERM: one io_context per --threads, the acceptor and
// the optional oneTBB offload. `start_connection` is called on the acceptor's thread for each
// new socket and must start the connection on the socket's own executor. `details` goes into
// the "listening" line. Returns main()'s exit status.
using connection_starter = std::function<void(tcp::socket, compute_offload&)>;
int run_asio_server(const server_options& options, const std::string& model,
                    const std::string& details, const connection_starter& start_connection);

}  // namespace lab
