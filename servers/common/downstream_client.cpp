#include "downstream_client.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <cerrno>
#include <charconv>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace lab {
namespace beast = boost::beast;
namespace bhttp = beast::http;  // lab::http is the server's own
namespace asio = boost::asio;
using boost::system::error_code;

// ---- pool -------------------------------------------------------------------------------

struct downstream_pool::blocking_waiter final : waiter {
  explicit blocking_waiter(std::condition_variable& wake) : wake_(wake) {}
  void grant(int fd) override {
    granted_fd = fd;
    granted = true;
    wake_.notify_all();
  }
  std::condition_variable& wake_;
  int granted_fd = -1;
  bool granted = false;
};

downstream_pool::~downstream_pool() {
  for (const int fd : idle_) ::close(fd);
}

std::optional<int> downstream_pool::acquire(waiter* w) {
  std::lock_guard lock(mutex_);
  if (!idle_.empty()) {
    const int fd = idle_.back();  // the most recently used: the warmest connection
    idle_.pop_back();
    return fd;
  }
  if (open_ < limit_) {
    ++open_;
    return -1;
  }
  if (w) waiters_.push_back(w);
  return std::nullopt;
}

std::optional<int> downstream_pool::acquire_until(deadline_point deadline,
                                                  const std::atomic<bool>& cancelled) {
  if (auto got = acquire(nullptr)) return got;
  std::unique_lock lock(mutex_);
  blocking_waiter w(blocking_wake_);
  // Re-check under the lock that the queue relies on (a release may have come in between).
  if (!idle_.empty()) {
    const int fd = idle_.back();
    idle_.pop_back();
    return fd;
  }
  if (open_ < limit_) {
    ++open_;
    return -1;
  }
  waiters_.push_back(&w);
  // The flag is checked under the lock that wake_blocking_waiters() takes: no lost wake-up.
  bool expired = false;
  while (!w.granted) {
    if (expired || cancelled.load()) {
      waiters_.erase(std::find(waiters_.begin(), waiters_.end(), &w));
      return std::nullopt;
    }
    if (deadline)
      expired = blocking_wake_.wait_until(lock, *deadline) == std::cv_status::timeout;
    else
      blocking_wake_.wait(lock);
  }
  return w.granted_fd;
}

bool downstream_pool::withdraw(waiter* w) {
  std::lock_guard lock(mutex_);
  const auto at = std::find(waiters_.begin(), waiters_.end(), w);
  if (at == waiters_.end()) return false;
  waiters_.erase(at);
  return true;
}

void downstream_pool::release(int fd, bool reusable) {
  if (fd >= 0 && !reusable) {
    ::close(fd);
    fd = -1;
  }
  std::lock_guard lock(mutex_);
  if (!waiters_.empty()) {  // hand it over: the slot stays taken
    waiter* next = waiters_.front();
    waiters_.pop_front();
    next->grant(fd);
    return;
  }
  if (fd >= 0)
    idle_.push_back(fd);
  else
    --open_;
}

void downstream_pool::wake_blocking_waiters() {
  std::lock_guard lock(mutex_);
  blocking_wake_.notify_all();
}

std::size_t downstream_pool::open_count() const {
  std::lock_guard lock(mutex_);
  return open_;
}

// ---- messages ---------------------------------------------------------------------------

std::optional<gateway_answer> decode_delay_answer(
    const bhttp::response<bhttp::string_body>& response) {
  if (response.result_int() != 200) return std::nullopt;
  const nlohmann::json body =
      nlohmann::json::parse(response.body(), nullptr, /*allow_exceptions=*/false);
  if (!body.is_object()) return std::nullopt;
  const auto field = [&body](const char* name) -> std::optional<std::uint32_t> {
    const auto at = body.find(name);
    if (at == body.end() || !at->is_number_unsigned()) return std::nullopt;
    const auto value = at->get<std::uint64_t>();
    if (value > UINT32_MAX) return std::nullopt;
    return static_cast<std::uint32_t>(value);
  };
  const auto i = field("i");
  const auto ms = field("ms");
  if (!i || !ms) return std::nullopt;
  return gateway_answer{*i, *ms};
}

bhttp::request<bhttp::empty_body> make_delay_request(const std::string& host, std::uint32_t index,
                                                     std::uint32_t ms) {
  char target[64] = "/delay?ms=";
  char* at = std::to_chars(target + 10, target + 30, ms).ptr;
  at = std::copy_n("&i=", 3, at);
  at = std::to_chars(at, target + sizeof target, index).ptr;
  bhttp::request<bhttp::empty_body> request{bhttp::verb::get, std::string_view(target, at - target),
                                            11};
  request.set(bhttp::field::host, host);
  return request;
}

bool idle_connection_is_stale(int fd) {
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  // Anything to read on an idle keep-alive connection is an EOF, a reset or stray bytes.
  return ::poll(&p, 1, 0) != 0;
}

deadline_point gateway_deadline(std::chrono::steady_clock::time_point start, std::uint32_t ms) {
  if (ms == 0) return std::nullopt;
  return start + std::chrono::milliseconds(ms);
}

// ---- cancellation -----------------------------------------------------------------------

bool call_canceller::enter(int fd) {
  std::lock_guard lock(mutex_);
  if (cancelled_) return false;
  fds_.push_back(fd);
  return true;
}

bool call_canceller::leave(int fd) {
  // Under the lock, so cancel() never shuts down a descriptor number after it was closed and
  // perhaps reused by someone else.
  std::lock_guard lock(mutex_);
  fds_.erase(std::find(fds_.begin(), fds_.end(), fd));
  return !cancelled_;
}

void call_canceller::cancel() {
  {
    std::lock_guard lock(mutex_);
    if (cancelled_.exchange(true)) return;
    for (const int fd : fds_) ::shutdown(fd, SHUT_RDWR);
  }
  pool_.wake_blocking_waiters();
}

// ---- the blocking face ------------------------------------------------------------------

namespace {

// A Beast SyncReadStream/SyncWriteStream over a non-blocking descriptor: every read and write
// first poll()s with the time left to the deadline, so a call never outlives it.
class polled_socket {
 public:
  polled_socket(int fd, deadline_point deadline) : fd_(fd), deadline_(deadline) {}

  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers, error_code& ec) {
    const asio::mutable_buffer buffer = first_nonempty<asio::mutable_buffer>(buffers);
    if (buffer.size() == 0) return 0;
    for (;;) {
      if (!wait(POLLIN, ec)) return 0;
      const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
      if (n > 0) return static_cast<std::size_t>(n);
      if (n == 0) {
        ec = asio::error::eof;
        return 0;
      }
      if (errno != EAGAIN && errno != EINTR) return fail(ec);
    }
  }
  template <class ConstBuffers>
  std::size_t write_some(const ConstBuffers& buffers, error_code& ec) {
    const asio::const_buffer buffer = first_nonempty<asio::const_buffer>(buffers);
    if (buffer.size() == 0) return 0;
    for (;;) {
      if (!wait(POLLOUT, ec)) return 0;
      const ssize_t n = ::send(fd_, buffer.data(), buffer.size(), MSG_NOSIGNAL);
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EAGAIN && errno != EINTR) return fail(ec);
    }
  }
  // The throwing forms Beast's stream concepts also require.
  template <class MutableBuffers>
  std::size_t read_some(const MutableBuffers& buffers) {
    error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }
  template <class ConstBuffers>
  std::size_t write_some(const ConstBuffers& buffers) {
    error_code ec;
    const std::size_t n = write_some(buffers, ec);
    if (ec) throw boost::system::system_error(ec);
    return n;
  }

 private:
  template <class Buffer, class Buffers>
  static Buffer first_nonempty(const Buffers& buffers) {
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers);
         ++it)
      if (Buffer(*it).size() > 0) return Buffer(*it);
    return Buffer();
  }
  std::size_t fail(error_code& ec) {
    ec.assign(errno, boost::system::system_category());
    return 0;
  }
  bool wait(short events, error_code& ec) {
    for (;;) {
      int timeout_ms = -1;
      if (deadline_) {
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(
            *deadline_ - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
          ec = asio::error::timed_out;
          return false;
        }
        timeout_ms = static_cast<int>(std::min<std::int64_t>(left.count(), INT32_MAX));
      }
      pollfd p{fd_, events, 0};
      const int ready = ::poll(&p, 1, timeout_ms);
      if (ready > 0) return true;  // ready, or hung up / shut down: recv/send tells which
      if (ready < 0 && errno != EINTR) {
        fail(ec);
        return false;
      }
    }
  }

  int fd_;
  deadline_point deadline_;
};

}  // namespace

downstream_client::downstream_client(const server_options& options)
    : pool_(static_cast<std::size_t>(options.downstream_pool)) {
  if (options.downstream.empty()) return;
  const auto colon = options.downstream.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw std::runtime_error("--downstream must be HOST:PORT, got '" + options.downstream + "'");
  asio::io_context resolver_context;
  asio::ip::tcp::resolver resolver(resolver_context);
  error_code ec;
  const auto results = resolver.resolve(options.downstream.substr(0, colon),
                                        options.downstream.substr(colon + 1), ec);
  if (ec || results.empty())
    throw std::runtime_error("--downstream " + options.downstream + ": " + ec.message());
  endpoint_ = results.begin()->endpoint();
  host_ = options.downstream;
  enabled_ = true;
}

int downstream_client::connect_blocking(deadline_point deadline, call_outcome& outcome) {
  outcome = call_outcome::failed;
  const int fd =
      ::socket(endpoint_.protocol().family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  const int on = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  if (::connect(fd, endpoint_.data(), static_cast<socklen_t>(endpoint_.size())) == 0) return fd;
  if (errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int timeout_ms = -1;
    if (deadline)
      timeout_ms = static_cast<int>(std::max<std::int64_t>(
          0,
          std::chrono::ceil<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now())
              .count()));
    int ready;
    do ready = ::poll(&p, 1, timeout_ms);
    while (ready < 0 && errno == EINTR);
    int error = 0;
    socklen_t length = sizeof error;
    if (ready > 0 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 && error == 0)
      return fd;
    if (ready == 0) outcome = call_outcome::timed_out;
  }
  ::close(fd);  // refused, unreachable, or out of time
  return -1;
}

call_outcome downstream_client::call_blocking(std::uint32_t index, std::uint32_t ms,
                                              deadline_point deadline, call_canceller& canceller,
                                              gateway_answer& answer) {
  const std::optional<int> acquired = pool_.acquire_until(deadline, canceller.flag());
  if (!acquired) return canceller.cancelled() ? call_outcome::cancelled : call_outcome::timed_out;
  int fd = *acquired;
  if (fd >= 0 && idle_connection_is_stale(fd)) {
    ::close(fd);
    fd = -1;
  }
  call_outcome outcome = call_outcome::failed;
  if (fd < 0 && (fd = connect_blocking(deadline, outcome)) < 0) {
    pool_.release(-1, false);
    return canceller.cancelled() ? call_outcome::cancelled : outcome;
  }
  if (!canceller.enter(fd)) {
    pool_.release(fd, false);
    return call_outcome::cancelled;
  }

  polled_socket stream(fd, deadline);
  error_code ec;
  auto request = make_delay_request(host_, index, ms);
  bhttp::write(stream, request, ec);
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(delay_answer_body_limit);
  if (!ec) bhttp::read(stream, buffer, parser, ec);
  const bool intact = canceller.leave(fd);

  std::optional<gateway_answer> decoded;
  if (!ec) decoded = decode_delay_answer(parser.get());
  // Reuse only a connection that is exactly between two responses.
  const bool reusable = decoded && intact && parser.get().keep_alive() && buffer.size() == 0;
  pool_.release(fd, reusable);
  if (decoded) {
    answer = *decoded;
    return call_outcome::answered;
  }
  if (canceller.cancelled()) return call_outcome::cancelled;
  if (ec == asio::error::timed_out) return call_outcome::timed_out;
  return call_outcome::failed;
}

}  // namespace lab
