// fiber — stackful coroutines: each connection runs on its own fiber with its own stack
// (Boost.Context, via asio::spawn), written in plain blocking style. A "blocking" call
// suspends the fiber and the thread runs another; --threads OS threads, one io_context each.
// A /gateway spawns a fiber per downstream call (one for a sequential fan-out) and joins them.
#include <array>

#include <boost/asio/spawn.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>

#include "asio_runtime.h"
#include "downstream_async.h"
#include "http_session.h"

namespace {
using namespace lab;

// /gateway, blocking-style: child fibers make the calls, this fiber waits for them to end, for
// the deadline or for a failure, and then cancels the children still running (a cancellation
// of a spawned fiber reaches the call it is suspended in) and waits until they are all gone.
// Every fiber here runs on the connection's io_context thread, so plain variables suffice.
gateway_result fan_out(downstream_client& client, const gateway_call& call, std::size_t stack_size,
                       asio::yield_context yield) {
  gateway_result result;
  if (!client.enabled()) {
    result.status = 502;
    return result;
  }
  const auto executor = yield.get_executor();
  const auto deadline = gateway_deadline(std::chrono::steady_clock::now(), call.deadline_ms);
  const std::uint32_t children = call.sequential ? 1 : call.fanout;
  std::array<asio::cancellation_signal, gateway_max_fanout> cancel;
  std::array<bool, gateway_max_fanout> child_running{};
  std::uint32_t running = children;
  asio::steady_timer wake(executor);  // the parent sleeps on it; children cancel it to wake it

  for (std::uint32_t c = 0; c < children; ++c) {
    const std::uint32_t first = call.sequential ? 0 : c;
    const std::uint32_t last = call.sequential ? call.fanout : c + 1;
    child_running[c] = true;
    asio::spawn(
        executor, std::allocator_arg, boost::context::protected_fixedsize_stack(stack_size),
        [&, c, first, last](asio::yield_context child) {
          for (std::uint32_t i = first; i < last; ++i) {
            boost::system::error_code ec;
            const gateway_answer answer = async_call(client, executor, i, call.ms, child[ec]);
            if (ec) {
              if (ec != asio::error::operation_aborted && result.status == 200) result.status = 502;
              break;
            }
            result.calls[i] = answer;
          }
          child_running[c] = false;
          if (--running == 0 || result.status != 200) wake.cancel();
        },
        asio::bind_cancellation_slot(cancel[c].slot(), asio::detached));
  }

  bool cancelled = false;
  while (running > 0) {
    if (result.status != 200 && !cancelled) {
      for (std::uint32_t c = 0; c < children; ++c)
        if (child_running[c]) cancel[c].emit(asio::cancellation_type::terminal);
      cancelled = true;
    }
    wake.expires_at(result.status == 200 && deadline ? *deadline : asio::steady_timer::time_point::max());
    boost::system::error_code ec;
    wake.async_wait(yield[ec]);
    if (!ec && result.status == 200) result.status = 504;  // the deadline came first
  }
  return result;
}

void serve(tcp::socket& socket, const server_options& options, compute_offload& offload,
           downstream_client& downstream, std::size_t stack_size, asio::yield_context yield) {
  http_session session;  // lives on this fiber's stack, like any local in blocking code
  idle_watchdog watchdog(socket, options.idle_timeout());
  asio::steady_timer sleep_timer(socket.get_executor());
  boost::system::error_code ec;
  for (;;) {
    const next_step step = session.advance();
    if (!session.output().empty()) {
      asio::async_write(socket, asio::buffer(session.output()), yield[ec]);
      if (ec) return;
      session.output_written();
    }
    switch (step.what) {
      case next_step::kind::read: {
        watchdog.waiting_for_request();
        const std::span<char> space = session.read_space();
        const std::size_t n = socket.async_read_some(asio::buffer(space.data(), space.size()), yield[ec]);
        if (ec) return;  // EOF, reset, or closed by the idle watchdog
        watchdog.busy();
        session.commit_read(n);
        break;
      }
      case next_step::kind::sleep:
        sleep_timer.expires_after(std::chrono::milliseconds(step.amount));
        sleep_timer.async_wait(yield[ec]);
        if (ec) return;
        session.finish_sleep();
        break;
      case next_step::kind::compute:
        session.finish_compute(offload.enabled()
                                   ? offload.async_compute(socket.get_executor(), step.amount, yield)
                                   : compute_xorshift(step.amount));
        break;
      case next_step::kind::gateway:
        session.finish_gateway(fan_out(downstream, step.gateway, stack_size, yield));
        break;
      case next_step::kind::close:
        socket.shutdown(tcp::socket::shutdown_both, ec);
        return;
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"fiber: a stackful fiber per connection (Boost.Context via asio::spawn), blocking-style code"};
  lab::server_options options;
  lab::add_server_options(app, options, {.offload = true});
  std::size_t stack_size = 64 * 1024;
  app.add_option("--stack-size", stack_size,
                 "bytes of stack per fiber (reserved; only touched pages use memory)")
      ->check(CLI::Range(std::size_t{16 * 1024}, std::size_t{64 * 1024 * 1024}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  lab::downstream_client downstream(options);
  const std::string details = "stack " + std::to_string(stack_size / 1024) + " KiB";
  return lab::run_asio_server(options, "fiber", details, [&](lab::tcp::socket socket, lab::compute_offload& offload) {
    auto executor = socket.get_executor();
    lab::asio::spawn(
        executor, std::allocator_arg,
        // A guard page below each stack turns an overflow into a crash, not corruption.
        boost::context::protected_fixedsize_stack(stack_size),
        [&options, &offload, &downstream, stack_size, socket = std::move(socket)](lab::asio::yield_context yield) mutable {
          serve(socket, options, offload, downstream, stack_size, yield);
        },
        lab::asio::detached);
  });
}
