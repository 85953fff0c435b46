#include "test_http_server.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <array>

namespace lab::load::testing {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

class test_http_server::session : public std::enable_shared_from_this<session> {
 public:
  session(test_http_server& server, tcp::socket socket)
      : server_(server), socket_(std::move(socket)), stall_timer_(socket_.get_executor()) {}

  void start() { do_read(); }

 private:
  void do_read() {
    socket_.async_read_some(asio::buffer(buffer_),
                            [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                              if (!ec) self->on_read(n);
                            });
  }

  void on_read(std::size_t n) {
    static constexpr char terminator[] = "\r\n\r\n";
    for (std::size_t i = 0; i < n; ++i) {
      // Counts how much of "\r\n\r\n" the stream has just matched, across reads.
      matched_ = buffer_[i] == terminator[matched_] ? matched_ + 1 : (buffer_[i] == '\r' ? 1 : 0);
      if (matched_ == 4) {
        matched_ = 0;
        ++server_.requests_;
        on_request();
      }
    }
    do_read();
  }

  void on_request() {
    const auto& o = server_.options_;
    if (o.mode == test_server_options::behavior::silent) return;
    if (o.mode == test_server_options::behavior::stall) {
      const auto now = steady::now();
      if (!server_.stall_armed_) {
        server_.stall_armed_ = true;
        server_.stall_start_ = now + o.stall_after;
        server_.stall_end_ = server_.stall_start_ + o.stall_for;
      }
      if (now >= server_.stall_start_ && now < server_.stall_end_) {
        if (held_++ == 0) {
          stall_timer_.expires_at(server_.stall_end_);
          stall_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
            if (ec) return;
            for (; self->held_ > 0; --self->held_) self->respond();
          });
        }
        return;
      }
    }
    respond();
  }

  void respond() {
    out_ += server_.options_.response;
    if (!writing_) flush();
  }

  void flush() {
    writing_ = true;
    sending_.swap(out_);
    out_.clear();
    asio::async_write(socket_, asio::buffer(sending_),
                      [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                        self->writing_ = false;
                        if (ec) return;
                        if (self->server_.options_.close_after_response) {
                          boost::system::error_code ignored;
                          self->socket_.shutdown(tcp::socket::shutdown_both, ignored);
                          self->socket_.close(ignored);
                          return;
                        }
                        if (!self->out_.empty()) self->flush();
                      });
  }

  test_http_server& server_;
  tcp::socket socket_;
  asio::steady_timer stall_timer_;
  std::array<char, 4096> buffer_{};
  int matched_ = 0;
  int held_ = 0;
  std::string out_, sending_;
  bool writing_ = false;
};

test_http_server::test_http_server(test_server_options options)
    : options_(std::move(options)), acceptor_(io_) {
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), 0);
  acceptor_.open(endpoint.protocol());
  acceptor_.set_option(tcp::acceptor::reuse_address(true));
  acceptor_.bind(endpoint);
  acceptor_.listen(options_.mode == test_server_options::behavior::never_accept ? 1 : 1024);
  port_ = acceptor_.local_endpoint().port();
  if (options_.mode != test_server_options::behavior::never_accept) do_accept();
  thread_ = std::thread([this] {
    auto guard = asio::make_work_guard(io_);
    io_.run();
  });
}

test_http_server::~test_http_server() {
  io_.stop();
  thread_.join();
}

std::string test_http_server::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void test_http_server::do_accept() {
  acceptor_.async_accept([this](boost::system::error_code ec, tcp::socket socket) {
    if (!ec) {
      ++connections_;
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<session>(*this, std::move(socket))->start();
    }
    do_accept();
  });
}

}  // namespace lab::load::testing
