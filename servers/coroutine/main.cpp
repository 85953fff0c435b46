// coroutine — C++20 stackless coroutines on Boost.Asio: each connection is a coroutine
// written in sequential style; every co_await suspends it (its frame lives on the heap, a few
// hundred bytes) and the io_context's thread moves on. One io_context per thread. A /gateway
// co_awaits its K downstream calls as one parallel group, raced against the deadline timer.
#include <vector>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/experimental/parallel_group.hpp>

#include "asio_runtime.h"
#include "downstream_async.h"
#include "http_session.h"

namespace {
using namespace lab;
using namespace asio::experimental::awaitable_operators;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

// All K calls at once: a ranged parallel group, which cancels the others as soon as one fails
// and completes only when every call has. 502 if one failed.
asio::awaitable<int> parallel_calls(downstream_client& client, const gateway_call& call, gateway_result& result) {
  const auto executor = co_await asio::this_coro::executor;
  std::vector<decltype(async_call(client, executor, 0, 0, asio::deferred))> calls;
  calls.reserve(call.fanout);
  for (std::uint32_t i = 0; i < call.fanout; ++i) calls.push_back(async_call(client, executor, i, call.ms, asio::deferred));
  auto [order, errors, answers] = co_await asio::experimental::make_parallel_group(std::move(calls))
                                      .async_wait(asio::experimental::wait_for_one_error(), asio::use_awaitable);
  for (std::uint32_t i = 0; i < call.fanout; ++i) {
    if (errors[i]) co_return 502;
    result.calls[i] = answers[i];
  }
  co_return 200;
}

// One call after another.
asio::awaitable<int> sequential_calls(downstream_client& client, const gateway_call& call, gateway_result& result) {
  const auto executor = co_await asio::this_coro::executor;
  for (std::uint32_t i = 0; i < call.fanout; ++i) {
    auto [ec, answer] = co_await async_call(client, executor, i, call.ms, use_tuple);
    if (ec) co_return 502;
    result.calls[i] = answer;
  }
  co_return 200;
}

// /gateway: the calls, raced with `||` against the deadline timer; the loser is cancelled and
// awaited, so nothing of the request outlives this coroutine.
asio::awaitable<gateway_result> fan_out(downstream_client& client, const gateway_call& call) {
  gateway_result result;
  if (!client.enabled()) {
    result.status = 502;
    co_return result;
  }
  auto calls = call.sequential ? sequential_calls(client, call, result) : parallel_calls(client, call, result);
  if (call.deadline_ms == 0) {
    result.status = co_await std::move(calls);
    co_return result;
  }
  asio::steady_timer deadline(co_await asio::this_coro::executor, std::chrono::milliseconds(call.deadline_ms));
  const auto first = co_await (std::move(calls) || deadline.async_wait(asio::use_awaitable));
  result.status = first.index() == 0 ? std::get<0>(first) : 504;
  co_return result;
}

asio::awaitable<void> serve(tcp::socket socket, const server_options& options, compute_offload& offload,
                            downstream_client& downstream) {
  http_session session;
  idle_watchdog watchdog(socket, options.idle_timeout());
  asio::steady_timer sleep_timer(socket.get_executor());
  for (;;) {
    const next_step step = session.advance();
    if (!session.output().empty()) {
      auto [ec, n] = co_await asio::async_write(socket, asio::buffer(session.output()), use_tuple);
      if (ec) co_return;
      session.output_written();
    }
    switch (step.what) {
      case next_step::kind::read: {
        watchdog.waiting_for_request();
        const std::span<char> space = session.read_space();
        auto [ec, n] = co_await socket.async_read_some(asio::buffer(space.data(), space.size()), use_tuple);
        if (ec) co_return;  // EOF, reset, or closed by the idle watchdog
        watchdog.busy();
        session.commit_read(n);
        break;
      }
      case next_step::kind::sleep: {
        sleep_timer.expires_after(std::chrono::milliseconds(step.amount));
        auto [ec] = co_await sleep_timer.async_wait(use_tuple);
        if (ec) co_return;
        session.finish_sleep();
        break;
      }
      case next_step::kind::compute: {
        // Not `enabled ? co_await … : compute(…)`: built by GCC 12, that form took 34 ms for
        // n=10^7 where this one and the other models take 17 ms — the computation apparently
        // ran twice. Measured, not traced to the compiler's source.
        std::uint32_t result;
        if (offload.enabled())
          result = co_await offload.async_compute(socket.get_executor(), step.amount, asio::use_awaitable);
        else
          result = compute_xorshift(step.amount);
        session.finish_compute(result);
        break;
      }
      case next_step::kind::gateway:
        session.finish_gateway(co_await fan_out(downstream, step.gateway));
        break;
      case next_step::kind::close: {
        boost::system::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_both, ignored);
        co_return;
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"coroutine: C++20 stackless coroutines (co_await on Boost.Asio), one io_context per thread"};
  lab::server_options options;
  lab::add_server_options(app, options, {.offload = true});
  CLI11_PARSE(app, argc, argv);

  lab::downstream_client downstream(options);
#ifdef BOOST_ASIO_HAS_IO_URING
  const char* details = "Asio on io_uring";  // servers/coroutine_uring: the same code, no epoll
#else
  const char* details = "";
#endif
  return lab::run_asio_server(options, "coroutine", details, [&](lab::tcp::socket socket, lab::compute_offload& offload) {
    auto executor = socket.get_executor();
    lab::asio::co_spawn(executor, serve(std::move(socket), options, offload, downstream), lab::asio::detached);
  });
}
