// event_loop — Boost.Asio completion handlers: no thread ever blocks; each connection is a
// chain of callbacks (read → answer → write → read…). --threads 1 is the Node.js-style single
// loop; N threads run N io_contexts, each owning the connections it was handed.
#include <memory>

#include "asio_runtime.h"
#include "http_session.h"

namespace {
using namespace lab;

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(tcp::socket socket, const server_options& options, compute_offload& offload)
      : socket_(std::move(socket)), watchdog_(socket_, options.idle_timeout()),
        sleep_timer_(socket_.get_executor()), offload_(offload) {}

  void start() { advance(); }

 private:
  // Answers what is buffered, writes the answers, then acts on the step (which may wait).
  void advance() {
    const next_step step = session_.advance();
    if (session_.output().empty()) return act(step);
    asio::async_write(socket_, asio::buffer(session_.output()),
                      [self = shared_from_this(), step](boost::system::error_code ec, std::size_t) {
                        if (ec) return;  // the peer is gone: dropping `self` closes the socket
                        self->session_.output_written();
                        self->act(step);
                      });
  }

  void act(next_step step) {
    switch (step.what) {
      case next_step::kind::read: return do_read();
      case next_step::kind::sleep:
        sleep_timer_.expires_after(std::chrono::milliseconds(step.amount));
        return sleep_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
          if (ec) return;
          self->session_.finish_sleep();
          self->advance();
        });
      case next_step::kind::compute:
        if (!offload_.enabled()) {
          session_.finish_compute(compute_xorshift(step.amount));
          return advance();
        }
        return offload_.async_compute(socket_.get_executor(), step.amount,
                                      [self = shared_from_this()](std::uint32_t result) {
                                        self->session_.finish_compute(result);
                                        self->advance();
                                      });
      case next_step::kind::close: {
        boost::system::error_code ignored;
        socket_.shutdown(tcp::socket::shutdown_both, ignored);
        return;
      }
    }
  }

  void do_read() {
    watchdog_.waiting_for_request();
    const std::span<char> space = session_.read_space();
    socket_.async_read_some(asio::buffer(space.data(), space.size()),
                            [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                              if (ec) return;  // EOF, reset, or closed by the idle watchdog
                              self->watchdog_.busy();
                              self->session_.commit_read(n);
                              self->advance();
                            });
  }

  tcp::socket socket_;
  http_session session_;
  idle_watchdog watchdog_;
  asio::steady_timer sleep_timer_;
  compute_offload& offload_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"event_loop: Boost.Asio completion handlers, one io_context per thread"};
  lab::server_options options;
  lab::add_server_options(app, options, {.offload = true});
  CLI11_PARSE(app, argc, argv);

  return lab::run_asio_server(options, "event_loop", "", [&](lab::tcp::socket socket, lab::compute_offload& offload) {
    auto executor = socket.get_executor();
    lab::asio::post(executor, [&options, &offload, socket = std::move(socket)]() mutable {
      std::make_shared<connection>(std::move(socket), options, offload)->start();
    });
  });
}
