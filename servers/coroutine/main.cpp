// coroutine — C++20 stackless coroutines on Boost.Asio: each connection is a coroutine
// written in sequential style; every co_await suspends it (its frame lives on the heap, a few
// hundred bytes) and the io_context's thread moves on. One io_context per thread.
#include "asio_runtime.h"
#include "http_session.h"

namespace {
using namespace lab;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

asio::awaitable<void> serve(tcp::socket socket, const server_options& options, compute_offload& offload) {
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

  return lab::run_asio_server(options, "coroutine", "", [&](lab::tcp::socket socket, lab::compute_offload& offload) {
    auto executor = socket.get_executor();
    lab::asio::co_spawn(executor, serve(std::move(socket), options, offload), lab::asio::detached);
  });
}
