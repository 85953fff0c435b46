// io_uring — completion-based I/O on liburing: the server hands the kernel whole operations
// (accept, receive, send, connect, a timeout) and later reads their results from a completion
// queue; nothing asks "is this socket ready?" as epoll does. One ring per thread, each with
// its own SO_REUSEPORT listener and its own connections; every submission of a loop turn goes
// to the kernel in the same io_uring_enter that waits for the next completions. Where the
// kernel has them, one multishot accept and one multishot receive per connection stay armed,
// the receive filling buffers the kernel picks from a ring-mapped group (uring.h). /sleep is
// a ring timeout; a /gateway's downstream calls connect, send and receive on the same ring,
// the deadline is one more timeout and cancellation is IORING_OP_ASYNC_CANCEL.
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstring>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <system_error>
#include <sstream>
#include <thread>
#include <unordered_set>
#include <vector>

#include <boost/asio/ip/address.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/write.hpp>  // operator<< for the request

#include "compute.h"
#include "downstream_client.h"
#include "http_session.h"
#include "server_options.h"
#include "uring.h"

namespace {
using namespace lab;
namespace beast = boost::beast;
using clock_type = std::chrono::steady_clock;

struct uring_options {
  unsigned ring_entries = 512;
  unsigned buffers = 1024;        // provided receive buffers per thread (a power of two)
  unsigned buffer_size = 4096;
  std::string features = "auto";  // "one-shot": the fallback path even where multishot works
};

// Unread bytes one connection may hold from its multishot receive before the receive is
// cancelled (the epoll models get this back-pressure from the socket buffer).
constexpr std::size_t inbox_limit = 64 * 1024;

__kernel_timespec timespec_of(clock_type::duration d) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
  return {.tv_sec = ns / 1'000'000'000, .tv_nsec = ns % 1'000'000'000};
}

class worker;
class connection;

// Forwards a completion to a member of its owner, then lets the owner decide whether it is
// finished (which may delete it, so nothing touches the op afterwards).
template <class Owner, void (Owner::*Method)(const io_uring_cqe&)>
struct member_op final : uring::completion {
  explicit member_op(Owner* o) : owner(o) {}
  void complete(const io_uring_cqe& cqe) override {
    Owner* o = owner;
    if (!(cqe.flags & IORING_CQE_F_MORE)) armed = false;
    (o->*Method)(cqe);
    o->after_completion();
  }
  Owner* owner;
  bool armed = false;  // a completion is still to come
};

// A /gateway call waiting for a pooled connection; grant() comes from whichever thread
// released one, so it is handed to the owning worker through its wake-up eventfd.
struct pool_waiter final : downstream_pool::waiter, std::enable_shared_from_this<pool_waiter> {
  pool_waiter(worker& w, connection& c, std::uint32_t i) : owner_worker(w), owner(&c), index(i) {}
  void grant(int fd) override;
  worker& owner_worker;
  connection* owner;    // null once abandoned (the call was cancelled or its connection went)
  std::uint32_t index;
  int granted_fd = -1;  // written under the pool's lock
};

// One outgoing call to the downstream: its socket and the one ring operation in flight.
struct call final : uring::completion {
  enum class phase { idle, waiting_pool, connecting, sending, receiving };
  call(connection& c, std::uint32_t i) : owner(&c), index(i) {}
  ~call();
  void complete(const io_uring_cqe& cqe) override;

  connection* owner;
  std::uint32_t index;
  phase at = phase::idle;
  bool armed = false;       // an operation is in the ring
  bool cancelled = false;
  bool holding_slot = false;
  int fd = -1;
  std::shared_ptr<pool_waiter> waiter;
  std::string request;
  std::size_t sent = 0;
  beast::flat_buffer buffer;
  std::optional<beast::http::response_parser<beast::http::string_body>> parser;
  downstream_pool* pool = nullptr;
};

class worker {
 public:
  worker(const server_options& options, const uring_options& knobs, const uring::features& features,
         downstream_client& downstream, int listener)
      : options_(options), knobs_(knobs), features_(features), downstream_(downstream), listener_(listener),
        wake_fd_(::eventfd(0, EFD_CLOEXEC)) {}
  ~worker() { ::close(wake_fd_); }

  void run();
  void stop() { wake(true); }
  void post_grant(std::shared_ptr<pool_waiter> waiter) {
    {
      std::lock_guard lock(mutex_);
      grants_.push_back(std::move(waiter));
    }
    wake(false);
  }

  uring::ring& ring() { return *ring_; }
  uring::buffer_group* buffers() { return buffers_.get(); }
  const server_options& options() const { return options_; }
  downstream_client& downstream() { return downstream_; }
  void forget(connection* c) { connections_.erase(c); }
  void after_completion() {}

 private:
  void on_accept(const io_uring_cqe& cqe);
  void on_wake(const io_uring_cqe& cqe);
  void arm_accept();
  void arm_wake();
  void wake(bool stopping) {
    if (stopping) stopping_ = true;
    const std::uint64_t one = 1;
    [[maybe_unused]] const auto n = ::write(wake_fd_, &one, sizeof one);
  }

  const server_options& options_;
  const uring_options& knobs_;
  const uring::features& features_;
  downstream_client& downstream_;
  int listener_;
  int wake_fd_;
  std::uint64_t wake_value_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::vector<std::shared_ptr<pool_waiter>> grants_;
  std::unique_ptr<uring::ring> ring_;
  std::unique_ptr<uring::buffer_group> buffers_;
  std::unordered_set<connection*> connections_;
  member_op<worker, &worker::on_accept> accept_op_{this};
  member_op<worker, &worker::on_wake> wake_op_{this};
};

void pool_waiter::grant(int fd) {
  granted_fd = fd;
  owner_worker.post_grant(shared_from_this());
}

// One client connection: the shared HTTP core (http_session) fed from completions. It is
// deleted once it is closing and no operation of it is left in the ring.
class connection {
 public:
  connection(worker& w, int fd) : worker_(w), fd_(fd) {}
  ~connection() {
    calls_.clear();  // releases pool slots
    if (fd_ >= 0) ::close(fd_);
  }

  void start() {
    arm_idle(worker_.options().idle_timeout());
    advance();
  }
  void after_completion() {
    if (closing_ && !recv_op_.armed && !send_op_.armed && !sleep_op_.armed && !idle_op_.armed &&
        !deadline_op_.armed && calls_in_ring_ == 0) {
      worker_.forget(this);
      delete this;
    }
  }
  void on_call(call& c, const io_uring_cqe& cqe);
  void on_granted(std::uint32_t index, int fd);

 private:
  // Answers what is buffered and acts on each step until one has to wait for the ring.
  void advance() {
    while (!closing_) {
      step_ = session_.advance();
      if (!session_.output().empty()) return send_output();
      if (!act()) return;
    }
  }

  // True when the step finished at once and the session can go on.
  bool act() {
    switch (step_.what) {
      case next_step::kind::read:
        if (take_inbox()) return true;
        if (peer_done_) {
          close();
          return false;
        }
        reading_ = true;
        waiting_since_ = clock_type::now();
        if (!recv_op_.armed) arm_recv();
        return false;
      case next_step::kind::sleep:
        sleep_ts_ = timespec_of(std::chrono::milliseconds(step_.amount));
        sleep_op_.armed = true;
        io_uring_prep_timeout(worker_.ring().prepare(&sleep_op_), &sleep_ts_, 0, 0);
        return false;
      case next_step::kind::compute:
        session_.finish_compute(compute_xorshift(step_.amount));
        return true;
      case next_step::kind::gateway:
        return start_gateway();
      case next_step::kind::close:
        close();
        return false;
    }
    return false;
  }

  void send_output() {
    const std::string_view out = session_.output().substr(sent_);
    send_op_.armed = true;
    io_uring_prep_send(worker_.ring().prepare(&send_op_), fd_, out.data(), out.size(), MSG_NOSIGNAL);
  }

  void on_send(const io_uring_cqe& cqe) {
    if (closing_) return;
    if (cqe.res < 0) return close();
    sent_ += static_cast<std::size_t>(cqe.res);
    if (sent_ < session_.output().size()) return send_output();
    sent_ = 0;
    session_.output_written();
    if (act()) advance();
  }

  // Multishot: every arrival goes to the inbox (its buffer goes straight back to the kernel)
  // and is copied into the session when it asks. One-shot: the kernel wrote into the session.
  void arm_recv() {
    uring::buffer_group* buffers = worker_.buffers();
    io_uring_sqe* sqe = worker_.ring().prepare(&recv_op_);
    recv_op_.armed = true;
    recv_direct_ = buffers == nullptr || buffers_short_;
    if (recv_direct_) {
      const std::span<char> space = session_.read_space();
      io_uring_prep_recv(sqe, fd_, space.data(), space.size(), 0);
      return;
    }
    io_uring_prep_recv_multishot(sqe, fd_, nullptr, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = uring::buffer_group::group_id;
  }

  void on_recv(const io_uring_cqe& cqe) {
    const bool direct = recv_direct_;
    if (cqe.flags & IORING_CQE_F_BUFFER) {
      if (cqe.res > 0 && !closing_) {
        const std::span<const char> data = worker_.buffers()->received(cqe);
        inbox_.append(data.data(), data.size());
      }
      worker_.buffers()->recycle(cqe);
    } else if (direct && cqe.res > 0 && !closing_) {
      session_.commit_read(static_cast<std::size_t>(cqe.res));
    }
    if (closing_) return;
    buffers_short_ = cqe.res == -ENOBUFS;  // the next receive goes straight into the session
    if (cqe.res == 0 || (cqe.res < 0 && cqe.res != -ENOBUFS && cqe.res != -ECANCELED)) peer_done_ = true;
    if (recv_op_.armed && inbox_.size() > inbox_limit && !recv_cancelled_) {
      recv_cancelled_ = true;  // back-pressure: stop receiving until the session caught up
      worker_.ring().cancel(&recv_op_);
    }
    if (!recv_op_.armed) recv_cancelled_ = false;
    if (!reading_) return;
    if (direct && cqe.res > 0) {
      reading_ = false;
      return advance();
    }
    if (take_inbox()) return advance();
    if (peer_done_) return close();
    if (!recv_op_.armed) arm_recv();
  }

  bool take_inbox() {
    if (inbox_.empty()) return false;
    const std::span<char> space = session_.read_space();
    const std::size_t n = std::min(space.size(), inbox_.size());
    std::memcpy(space.data(), inbox_.data(), n);
    inbox_.erase(0, n);
    session_.commit_read(n);
    reading_ = false;
    return true;
  }

  void on_sleep(const io_uring_cqe& cqe) {
    if (closing_ || cqe.res == -ECANCELED) return;
    session_.finish_sleep();
    advance();
  }

  // The idle watchdog: one timeout per period, not one per read (as in asio_runtime.h).
  void arm_idle(clock_type::duration after) {
    idle_ts_ = timespec_of(after);
    idle_op_.armed = true;
    io_uring_prep_timeout(worker_.ring().prepare(&idle_op_), &idle_ts_, 0, 0);
  }

  void on_idle(const io_uring_cqe& cqe) {
    if (closing_ || cqe.res == -ECANCELED) return;
    const auto timeout = worker_.options().idle_timeout();
    const auto waited = clock_type::now() - waiting_since_;
    if (reading_ && waited >= timeout) return close();
    arm_idle(reading_ ? timeout - waited : clock_type::duration(timeout));
  }

  // ---- /gateway ------------------------------------------------------------------------

  bool start_gateway() {
    gateway_ = step_.gateway;
    result_ = gateway_result{};
    if (!worker_.downstream().enabled()) {
      result_.status = 502;
      session_.finish_gateway(result_);
      return true;
    }
    calls_.clear();
    for (std::uint32_t i = 0; i < gateway_.fanout; ++i) calls_.push_back(std::make_unique<call>(*this, i));
    outstanding_ = 0;
    if (gateway_.deadline_ms > 0) {
      deadline_ts_ = timespec_of(std::chrono::milliseconds(gateway_.deadline_ms));
      deadline_op_.armed = true;
      io_uring_prep_timeout(worker_.ring().prepare(&deadline_op_), &deadline_ts_, 0, 0);
    }
    // A call that fails at once (no descriptor left) must not finish the request while
    // the others are still being started.
    launching_ = true;
    for (std::uint32_t i = 0; i < (gateway_.sequential ? 1 : gateway_.fanout) && result_.status == 200; ++i) launch(i);
    launching_ = false;
    finish_gateway_if_done();
    return false;
  }

  void launch(std::uint32_t i) {
    call& c = *calls_[i];
    ++outstanding_;
    downstream_pool& pool = worker_.downstream().pool();
    c.pool = &pool;
    c.request = delay_request_bytes(i);
    if (const auto got = pool.acquire(nullptr)) return use(c, *got);
    c.waiter = std::make_shared<pool_waiter>(worker_, *this, i);
    if (const auto got = pool.acquire(c.waiter.get())) {
      c.waiter.reset();
      return use(c, *got);
    }
    c.at = call::phase::waiting_pool;
  }

  std::string delay_request_bytes(std::uint32_t i) {
    std::ostringstream out;
    out << make_delay_request(worker_.downstream().host(), i, gateway_.ms);
    return std::move(out).str();
  }

  // Starts on what the pool gave: an idle connection (fd >= 0) or a slot to open one (-1).
  void use(call& c, int fd) {
    c.holding_slot = true;
    if (fd >= 0 && idle_connection_is_stale(fd)) {
      ::close(fd);
      fd = -1;
    }
    if (fd >= 0) {
      c.fd = fd;
      return call_send(c);
    }
    const auto& endpoint = worker_.downstream().endpoint();
    c.fd = ::socket(endpoint.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c.fd < 0) return call_failed(c, false);
    c.at = call::phase::connecting;
    submit_call(c, [&](io_uring_sqe* sqe) { io_uring_prep_connect(sqe, c.fd, endpoint.data(), endpoint.size()); });
  }

  template <class Prepare>
  void submit_call(call& c, Prepare prepare) {
    c.armed = true;
    ++calls_in_ring_;
    prepare(worker_.ring().prepare(&c));
  }

  void call_send(call& c) {
    c.at = call::phase::sending;
    submit_call(c, [&](io_uring_sqe* sqe) {
      io_uring_prep_send(sqe, c.fd, c.request.data() + c.sent, c.request.size() - c.sent, MSG_NOSIGNAL);
    });
  }

  void call_receive(call& c) {
    c.at = call::phase::receiving;
    if (!c.parser) {
      c.parser.emplace();
      c.parser->body_limit(64 * 1024);
      c.parser->eager(true);
    }
    const auto space = c.buffer.prepare(4096);
    submit_call(c, [&](io_uring_sqe* sqe) { io_uring_prep_recv(sqe, c.fd, space.data(), space.size(), 0); });
  }

  // Gives the call's slot back: the connection itself when reusable, else closed.
  static void give_back(call& c, bool reusable) {
    if (!c.holding_slot) return;
    c.holding_slot = false;
    if (reusable && c.fd >= 0) {
      c.pool->release(c.fd, true);
    } else {
      if (c.fd >= 0) ::close(c.fd);
      c.pool->release(-1, false);
    }
    c.fd = -1;
  }

  void call_failed(call& c, bool cancelled) {
    give_back(c, false);
    c.at = call::phase::idle;
    --outstanding_;
    if (!cancelled) settle(502);
    finish_gateway_if_done();
  }

  // The first failure or the deadline decides the status and cancels the rest.
  void settle(int status) {
    if (result_.status != 200) return;
    result_.status = status;
    for (auto& other : calls_) {
      call& c = *other;
      if (c.at == call::phase::waiting_pool) abandon_wait(c);
      if (c.armed && !c.cancelled) {
        c.cancelled = true;
        worker_.ring().cancel(&c);
      }
    }
  }

  void abandon_wait(call& c) {
    if (!c.waiter) return;
    if (!c.pool->withdraw(c.waiter.get())) c.pool->release(c.waiter->granted_fd, true);
    c.waiter->owner = nullptr;
    c.waiter.reset();
    c.at = call::phase::idle;
    --outstanding_;
  }

  // The response is built once no call and no deadline timer is left in the ring.
  void finish_gateway_if_done() {
    if (outstanding_ > 0 || closing_ || launching_) return;
    if (deadline_op_.armed) {
      if (!deadline_cancelled_) {
        deadline_cancelled_ = true;
        worker_.ring().cancel(&deadline_op_);
      }
      return;
    }
    deadline_cancelled_ = false;
    if (calls_in_ring_ > 0) return;
    session_.finish_gateway(result_);
    advance();
  }

  void on_deadline(const io_uring_cqe& cqe) {
    if (closing_) return;
    if (cqe.res == -ETIME) settle(504);
    finish_gateway_if_done();
  }

  void close() {
    if (closing_) return;
    closing_ = true;
    ::shutdown(fd_, SHUT_RDWR);  // ends the multishot receive, tells the peer
    uring::ring& ring = worker_.ring();
    for (auto* op : {static_cast<uring::completion*>(&recv_op_), static_cast<uring::completion*>(&sleep_op_),
                     static_cast<uring::completion*>(&idle_op_), static_cast<uring::completion*>(&deadline_op_)})
      ring.cancel(op);
    for (auto& c : calls_) {
      if (c->at == call::phase::waiting_pool) abandon_wait(*c);
      if (c->armed) ring.cancel(c.get());
    }
  }

  worker& worker_;
  int fd_;
  http_session session_;
  next_step step_;
  std::string inbox_;           // received (multishot) but not yet taken by the session
  std::size_t sent_ = 0;        // of session_.output()
  bool reading_ = false;        // the session waits for bytes
  bool recv_direct_ = false;    // the armed receive writes into the session's buffer
  bool buffers_short_ = false;  // the last multishot ended for want of provided buffers
  bool recv_cancelled_ = false;
  bool peer_done_ = false;      // EOF or error seen: close once the inbox is used up
  bool closing_ = false;
  clock_type::time_point waiting_since_ = clock_type::now();
  __kernel_timespec sleep_ts_{}, idle_ts_{}, deadline_ts_{};
  gateway_call gateway_{};
  gateway_result result_{};
  std::vector<std::unique_ptr<call>> calls_;
  std::uint32_t outstanding_ = 0;  // calls started and not finished
  std::uint32_t calls_in_ring_ = 0;
  bool deadline_cancelled_ = false;
  bool launching_ = false;
  member_op<connection, &connection::on_recv> recv_op_{this};
  member_op<connection, &connection::on_send> send_op_{this};
  member_op<connection, &connection::on_sleep> sleep_op_{this};
  member_op<connection, &connection::on_idle> idle_op_{this};
  member_op<connection, &connection::on_deadline> deadline_op_{this};

  friend struct call;
};

call::~call() {
  if (waiter) {
    if (!pool->withdraw(waiter.get())) pool->release(waiter->granted_fd, true);
    waiter->owner = nullptr;
  }
  if (holding_slot) {
    if (fd >= 0) ::close(fd);
    pool->release(-1, false);
  }
}

void call::complete(const io_uring_cqe& cqe) {
  connection* o = owner;
  o->on_call(*this, cqe);
  o->after_completion();
}

void connection::on_call(call& c, const io_uring_cqe& cqe) {
  c.armed = false;
  --calls_in_ring_;
  if (closing_) return;
  if (c.cancelled || cqe.res == -ECANCELED) return call_failed(c, true);
  if (cqe.res < 0) return call_failed(c, false);
  switch (c.at) {
    case call::phase::connecting: {
      const int on = 1;
      ::setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      return call_send(c);
    }
    case call::phase::sending:
      c.sent += static_cast<std::size_t>(cqe.res);
      if (c.sent < c.request.size()) return call_send(c);
      return call_receive(c);
    case call::phase::receiving: {
      if (cqe.res == 0) return call_failed(c, false);  // closed before a whole answer
      c.buffer.commit(static_cast<std::size_t>(cqe.res));
      boost::system::error_code ec;
      while (c.buffer.size() > 0 && !c.parser->is_done()) {
        const std::size_t used = c.parser->put(c.buffer.data(), ec);
        c.buffer.consume(used);
        if (ec == beast::http::error::need_more) {
          ec = {};
          break;
        }
        if (ec) return call_failed(c, false);
      }
      if (!c.parser->is_done()) return call_receive(c);
      const auto answer = decode_delay_answer(c.parser->get());
      if (!answer) return call_failed(c, false);
      give_back(c, c.parser->get().keep_alive() && c.buffer.size() == 0);
      result_.calls[c.index] = *answer;
      c.at = call::phase::idle;
      --outstanding_;
      if (gateway_.sequential && c.index + 1 < gateway_.fanout && result_.status == 200) launch(c.index + 1);
      return finish_gateway_if_done();
    }
    case call::phase::idle:
    case call::phase::waiting_pool:
      return;
  }
}

void connection::on_granted(std::uint32_t index, int fd) {
  call& c = *calls_[index];
  c.waiter.reset();
  if (closing_ || result_.status != 200) {
    c.pool->release(fd, true);
    c.at = call::phase::idle;
    --outstanding_;
    return finish_gateway_if_done();
  }
  use(c, fd);
}

// ---- worker ----------------------------------------------------------------------------

void worker::run() {
  // The ring is made on its own thread: a single-issuer ring belongs to its creator.
  ring_ = std::make_unique<uring::ring>(knobs_.ring_entries, features_.single_issuer);
  if (features_.multishot_recv) buffers_ = std::make_unique<uring::buffer_group>(*ring_, knobs_.buffers, knobs_.buffer_size);
  arm_wake();
  arm_accept();
  while (!stopping_) ring_->run_once();
  // Tear-down: the kernel cancels what is still in the ring before the memory goes.
  buffers_.reset();
  ring_.reset();
  for (connection* c : connections_) delete c;
  connections_.clear();
}

void worker::arm_accept() {
  accept_op_.armed = true;
  io_uring_sqe* sqe = ring_->prepare(&accept_op_);
  if (features_.multishot_accept)
    io_uring_prep_multishot_accept(sqe, listener_, nullptr, nullptr, SOCK_CLOEXEC);
  else
    io_uring_prep_accept(sqe, listener_, nullptr, nullptr, SOCK_CLOEXEC);
}

void worker::on_accept(const io_uring_cqe& cqe) {
  if (cqe.res >= 0) {
    const int on = 1;
    ::setsockopt(cqe.res, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    auto* c = new connection(*this, cqe.res);
    connections_.insert(c);
    c->start();
  }
  if (!accept_op_.armed && !stopping_) arm_accept();  // one-shot, or the multishot ended
}

void worker::arm_wake() {
  wake_op_.armed = true;
  io_uring_prep_read(ring_->prepare(&wake_op_), wake_fd_, &wake_value_, sizeof wake_value_, 0);
}

void worker::on_wake(const io_uring_cqe&) {
  std::vector<std::shared_ptr<pool_waiter>> grants;
  {
    std::lock_guard lock(mutex_);
    grants.swap(grants_);
  }
  // A waiter without owner was abandoned after its grant: the abandoner released the grant.
  for (const auto& grant : grants)
    if (grant->owner) grant->owner->on_granted(grant->index, grant->granted_fd);
  if (!stopping_) arm_wake();
}

// A listening socket on the shared port; every thread has one (SO_REUSEPORT), so the kernel
// spreads connections across threads without a hand-off.
int open_listener(const server_options& options, std::uint16_t port) {
  namespace ip = boost::asio::ip;
  const ip::address address = ip::make_address(options.host);
  const int fd = ::socket(address.is_v6() ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::system_error(errno, std::generic_category(), "socket");
  const int on = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof on);
  sockaddr_storage storage{};
  socklen_t length;
  if (address.is_v6()) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&storage);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    const auto bytes = address.to_v6().to_bytes();
    std::memcpy(&a->sin6_addr, bytes.data(), bytes.size());
    length = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&storage);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(address.to_v4().to_uint());
    length = sizeof *a;
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&storage), length) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    const int error = errno;
    ::close(fd);
    throw std::system_error(error, std::generic_category(), "bind/listen on " + options.host + ":" + std::to_string(port));
  }
  return fd;
}

std::uint16_t bound_port(int fd) {
  sockaddr_storage storage{};
  socklen_t length = sizeof storage;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&storage), &length);
  if (storage.ss_family == AF_INET6) return ntohs(reinterpret_cast<sockaddr_in6*>(&storage)->sin6_port);
  return ntohs(reinterpret_cast<sockaddr_in*>(&storage)->sin_port);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"io_uring: completion-based I/O on liburing, one ring per thread"};
  lab::server_options options;
  uring_options knobs;
  lab::add_server_options(app, options, {.threads_help = "number of threads (one ring and one listener each)"});
  app.add_option("--ring-entries", knobs.ring_entries, "submission queue entries per ring")
      ->check(CLI::Range(8u, 32768u))
      ->capture_default_str();
  app.add_option("--buffers", knobs.buffers, "provided receive buffers per ring (a power of two)")
      ->check(CLI::Range(2u, 32768u))
      ->capture_default_str();
  app.add_option("--buffer-size", knobs.buffer_size, "bytes per provided receive buffer")
      ->check(CLI::Range(512u, 1u << 20))
      ->capture_default_str();
  app.add_option("--features", knobs.features,
                 "auto: multishot accept/recv with ring-mapped buffers where the kernel has them; "
                 "one-shot: the fallback path (one accept/recv per completion) everywhere")
      ->check(CLI::IsMember({"auto", "one-shot"}))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  if ((knobs.buffers & (knobs.buffers - 1)) != 0) {
    std::cerr << "io_uring: --buffers must be a power of two, got " << knobs.buffers << "\n";
    return 2;
  }

  std::string why;
  std::optional<lab::uring::features> features = lab::uring::probe_features(why);
  if (!features) {
    std::cerr << "io_uring: this kernel forbids io_uring or lacks it (" << why
              << "; see /proc/sys/kernel/io_uring_disabled)\n";
    return 3;
  }
  if (knobs.features == "one-shot") features->multishot_accept = features->multishot_recv = false;

  // SIGINT/SIGTERM are taken by sigwait() below, never delivered to a worker.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  try {
    lab::downstream_client downstream(options);
    std::vector<int> listeners{open_listener(options, options.port)};
    const std::uint16_t port = bound_port(listeners.front());
    for (int i = 1; i < options.threads; ++i) listeners.push_back(open_listener(options, port));
    std::vector<std::unique_ptr<worker>> workers;
    for (int listener : listeners)
      workers.push_back(std::make_unique<worker>(options, knobs, *features, downstream, listener));
    std::vector<std::thread> threads;
    std::atomic<int> failed{0};
    for (auto& w : workers)
      threads.emplace_back([&w, &failed] {
        try {
          w->run();
        } catch (const std::exception& e) {
          std::cerr << "io_uring: worker stopped: " << e.what() << "\n";
          failed = 1;
        }
      });
    lab::print_listening(options, port, "io_uring", "features: " + features->describe());
    int signal = 0;
    sigwait(&stop_signals, &signal);
    for (auto& w : workers) w->stop();
    for (auto& t : threads) t.join();
    for (int listener : listeners) ::close(listener);
    return failed.load();
  } catch (const std::exception& e) {
    std::cerr << "io_uring: " << e.what() << "\n";
    return 1;
  }
}
