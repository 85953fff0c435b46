// event_loop — Boost.Asio completion handlers: no thread ever blocks; each connection is a
// chain of callbacks (read → answer → write → read…). --threads 1 is the Node.js-style single
// loop; N threads run N io_contexts, each owning the connections it was handed. A /gateway
// starts its K downstream calls with completion handlers and counts them down (fanout).
#include <array>
#include <functional>
#include <memory>

#include "asio_runtime.h"
#include "downstream_async.h"
#include "http_session.h"

namespace {
using namespace lab;

// One /gateway request's calls: all started at once (or, sequential, each from the previous
// one's handler) and counted down as their handlers run. The first failure or the deadline
// timer emits a cancellation to every call still outstanding; `done` runs only once the last
// handler has run, so no operation, timer or connection of the request is left behind.
class fanout : public std::enable_shared_from_this<fanout> {
 public:
  using done_handler = std::function<void(const gateway_result&)>;
  fanout(asio::any_io_executor executor, downstream_client& client, const gateway_call& call, done_handler done)
      : executor_(executor), client_(client), call_(call), deadline_timer_(executor), done_(std::move(done)) {}

  void start() {
    if (call_.deadline_ms > 0) {
      deadline_timer_.expires_after(std::chrono::milliseconds(call_.deadline_ms));
      deadline_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
        if (!ec) self->settle(504);
      });
    }
    if (call_.sequential) return launch(0);
    for (std::uint32_t i = 0; i < call_.fanout; ++i) launch(i);
  }

 private:
  void launch(std::uint32_t i) {
    ++outstanding_;
    pending_[i] = true;
    async_call(client_, executor_, i, call_.ms,
               asio::bind_cancellation_slot(
                   cancel_[i].slot(), [self = shared_from_this(), i](boost::system::error_code ec, gateway_answer answer) {
                     self->finished(i, ec, answer);
                   }));
  }

  void finished(std::uint32_t i, boost::system::error_code ec, gateway_answer answer) {
    pending_[i] = false;
    --outstanding_;
    if (!ec) {
      result_.calls[i] = answer;
      if (call_.sequential && i + 1 < call_.fanout && result_.status == 200) return launch(i + 1);
    } else if (ec != asio::error::operation_aborted) {
      settle(502);
    }
    if (outstanding_ > 0) return;
    deadline_timer_.cancel();
    done_(result_);
  }

  // The first failure or the deadline decides the status and cancels the rest.
  void settle(int status) {
    if (result_.status != 200) return;
    result_.status = status;
    for (std::uint32_t i = 0; i < call_.fanout; ++i)
      if (pending_[i]) cancel_[i].emit(asio::cancellation_type::terminal);
  }

  asio::any_io_executor executor_;
  downstream_client& client_;
  const gateway_call call_;
  asio::steady_timer deadline_timer_;
  done_handler done_;
  gateway_result result_;
  std::array<asio::cancellation_signal, gateway_max_fanout> cancel_;
  std::array<bool, gateway_max_fanout> pending_{};
  std::uint32_t outstanding_ = 0;
};

class connection : public std::enable_shared_from_this<connection> {
 public:
  connection(tcp::socket socket, const server_options& options, compute_offload& offload,
             downstream_client& downstream)
      : socket_(std::move(socket)), watchdog_(socket_, options.idle_timeout()),
        sleep_timer_(socket_.get_executor()), offload_(offload), downstream_(downstream) {}

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
      case next_step::kind::gateway: {
        auto on_done = [self = shared_from_this()](const gateway_result& result) {
          self->session_.finish_gateway(result);
          self->advance();
        };
        if (!downstream_.enabled()) return on_done(gateway_result{502});
        return std::make_shared<fanout>(socket_.get_executor(), downstream_, step.gateway, std::move(on_done))
            ->start();
      }
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
  downstream_client& downstream_;
};

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"event_loop: Boost.Asio completion handlers, one io_context per thread"};
  lab::server_options options;
  lab::add_server_options(app, options, {.offload = true});
  CLI11_PARSE(app, argc, argv);

  lab::downstream_client downstream(options);
  return lab::run_asio_server(options, "event_loop", "", [&](lab::tcp::socket socket, lab::compute_offload& offload) {
    auto executor = socket.get_executor();
    lab::asio::post(executor, [&options, &offload, &downstream, socket = std::move(socket)]() mutable {
      std::make_shared<connection>(std::move(socket), options, offload, downstream)->start();
    });
  });
}
