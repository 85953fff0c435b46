// fiber — stackful coroutines: each connection runs on its own fiber with its own stack
// (Boost.Context, via asio::spawn), written in plain blocking style. A "blocking" call
// suspends the fiber and the thread runs another; --threads OS threads, one io_context each.
#include <boost/asio/spawn.hpp>
#include <boost/context/protected_fixedsize_stack.hpp>

#include "asio_runtime.h"
#include "http_session.h"

namespace {
using namespace lab;

void serve(tcp::socket& socket, const server_options& options, compute_offload& offload,
           asio::yield_context yield) {
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

  const std::string details = "stack " + std::to_string(stack_size / 1024) + " KiB";
  return lab::run_asio_server(options, "fiber", details, [&](lab::tcp::socket socket, lab::compute_offload& offload) {
    auto executor = socket.get_executor();
    lab::asio::spawn(
        executor, std::allocator_arg,
        // A guard page below each stack turns an overflow into a crash, not corruption.
        boost::context::protected_fixedsize_stack(stack_size),
        [&options, &offload, socket = std::move(socket)](lab::asio::yield_context yield) mutable {
          serve(socket, options, offload, yield);
        },
        lab::asio::detached);
  });
}
