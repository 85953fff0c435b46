// downstream_async.h — the asynchronous face of downstream_client (downstream_client.h):
// async_call() is one Asio operation — wait for a pooled connection, connect if needed, write
// the request, read the answer — usable with any completion token (a callback, yield_context,
// use_awaitable, deferred for a parallel group). It honours per-operation terminal
// cancellation (a bound cancellation slot): whatever step it is in stops, its connection is
// closed (never returned to the pool) and it completes with operation_aborted. Errors:
// protocol_error for a non-200 or unparsable answer, the socket's error otherwise.
//
// A pooled descriptor is adopted by a socket on the caller's executor (assign) and handed
// back with release(): one pool serves every io_context of the process, so --downstream-pool
// bounds the whole process. Thread-safety: one operation runs on the executor it was given.
#pragma once
#include <boost/asio.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <memory>

#include "downstream_client.h"

namespace lab {
namespace downstream_detail {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// A queued wait for a connection: the grant (from any thread) cancels the timer the
// operation waits on, on the operation's own executor.
struct async_waiter final : downstream_pool::waiter, std::enable_shared_from_this<async_waiter> {
  explicit async_waiter(const asio::any_io_executor& executor)
      : timer(executor, asio::steady_timer::time_point::max()) {}
  void grant(int fd) override {
    granted_fd = fd;
    asio::post(timer.get_executor(), [self = shared_from_this()] { self->timer.cancel(); });
  }
  asio::steady_timer timer;
  int granted_fd = -1;  // written under the pool's lock; read after withdraw() returned false
};

// What the operation keeps at a fixed address while it runs. Its destructor is the cleanup
// for every path, including a handler destroyed unrun when the io_context shuts down.
struct call_state {
  call_state(downstream_client& c, const asio::any_io_executor& executor, std::uint32_t index,
             std::uint32_t ms)
      : client(c), socket(executor), request(make_delay_request(c.host(), index, ms)) {
    parser.body_limit(delay_answer_body_limit);
  }
  ~call_state() {
    if (waiter && !client.pool().withdraw(waiter.get()))
      client.pool().release(waiter->granted_fd, true);
    if (holding_slot) give_back(false);
  }
  // Returns the slot: the connection itself when reusable, else closed.
  void give_back(bool reusable) {
    holding_slot = false;
    error_code ignored;
    if (reusable && socket.is_open()) {
      const int fd = socket.release(ignored);
      client.pool().release(ignored ? -1 : fd, !ignored);
      return;
    }
    socket.close(ignored);
    client.pool().release(-1, false);
  }

  downstream_client& client;
  tcp::socket socket;
  std::shared_ptr<async_waiter> waiter;  // set while queued for a connection
  bool holding_slot = false;
  http::request<http::empty_body> request;
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
};

struct call_op {
  std::unique_ptr<call_state> s;
  enum class step { start, waiting, connecting, writing, reading } at = step::start;

  template <class Self>
  void operator()(Self& self, error_code ec = {}, std::size_t = 0) {
    downstream_pool& pool = s->client.pool();
    switch (at) {
      case step::start: {
        if (const auto got = pool.acquire(nullptr)) return use(self, *got);
        s->waiter = std::make_shared<async_waiter>(s->socket.get_executor());
        if (const auto got = pool.acquire(s->waiter.get())) {
          s->waiter.reset();
          return use(self, *got);
        }
        at = step::waiting;
        return s->waiter->timer.async_wait(std::move(self));
      }
      case step::waiting: {
        const std::shared_ptr<async_waiter> waiter = std::move(s->waiter);
        if (pool.withdraw(waiter.get()))
          return self.complete(error_code(asio::error::operation_aborted), gateway_answer{});
        if (self.cancelled() != asio::cancellation_type::none) {
          pool.release(waiter->granted_fd, true);
          return self.complete(error_code(asio::error::operation_aborted), gateway_answer{});
        }
        return use(self, waiter->granted_fd);
      }
      case step::connecting:
        if (ec) return fail(self, ec);
        s->socket.set_option(tcp::no_delay(true), ec);
        return write(self);
      case step::writing:
        if (ec) return fail(self, ec);
        at = step::reading;
        return http::async_read(s->socket, s->buffer, s->parser, std::move(self));
      case step::reading: {
        if (ec) return fail(self, ec);
        const auto answer = decode_delay_answer(s->parser.get());
        if (!answer) return fail(self, make_error_code(boost::system::errc::protocol_error));
        s->give_back(s->parser.get().keep_alive() && s->buffer.size() == 0);
        return self.complete(error_code{}, gateway_answer(*answer));
      }
    }
  }

  // Starts on what the pool gave: an idle connection (fd >= 0) or a slot to open one (-1).
  template <class Self>
  void use(Self& self, int fd) {
    s->holding_slot = true;
    if (fd >= 0 && idle_connection_is_stale(fd)) {
      ::close(fd);
      fd = -1;
    }
    if (fd >= 0) {
      error_code ec;
      s->socket.assign(s->client.endpoint().protocol(), fd, ec);
      if (ec) {
        ::close(fd);
        return fail(self, ec);
      }
      return write(self);
    }
    at = step::connecting;
    s->socket.async_connect(s->client.endpoint(), std::move(self));
  }

  template <class Self>
  void write(Self& self) {
    at = step::writing;
    http::async_write(s->socket, s->request, std::move(self));
  }

  template <class Self>
  void fail(Self& self, error_code ec) {
    s->give_back(false);
    self.complete(ec, gateway_answer{});
  }
};

}  // namespace downstream_detail

// GET /delay?ms=M&i=index on a pooled connection; completes with
// void(boost::system::error_code, gateway_answer). The operation runs on `executor`.
template <class CompletionToken>
auto async_call(downstream_client& client, const boost::asio::any_io_executor& executor,
                std::uint32_t index, std::uint32_t ms, CompletionToken&& token) {
  return boost::asio::async_compose<CompletionToken,
                                    void(boost::system::error_code, gateway_answer)>(
      downstream_detail::call_op{
          std::make_unique<downstream_detail::call_state>(client, executor, index, ms)},
      token, executor);
}

}  // namespace lab
