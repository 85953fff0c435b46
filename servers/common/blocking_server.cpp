#include "blocking_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <system_error>

#include "compute.h"
#include "http_session.h"

namespace lab {
namespace {

[[noreturn]] void throw_errno(const char* what) {
  throw std::system_error(errno, std::generic_category(), what);
}

bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

blocking_listener::blocking_listener(const server_options& options) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) throw_errno("socket");
  const int on = 1;
  ::setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(options.port);
  if (::inet_pton(AF_INET, options.host.c_str(), &address.sin_addr) != 1)
    throw std::system_error(EINVAL, std::generic_category(), "bad --host " + options.host);
  if (::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) < 0) throw_errno("bind");
  if (::listen(fd_, SOMAXCONN) < 0) throw_errno("listen");
  socklen_t length = sizeof address;
  ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &length);
  port_ = ntohs(address.sin_port);
}

blocking_listener::~blocking_listener() {
  if (fd_ >= 0) ::close(fd_);
}

int blocking_listener::accept() {
  for (;;) {
    const int client = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client >= 0) {
      const int on = 1;
      ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      return client;
    }
    if (errno == EINTR || errno == ECONNABORTED) continue;
    if (errno == EMFILE || errno == ENFILE) {  // out of descriptors: back off, don't spin
      ::usleep(10'000);
      continue;
    }
    return -1;  // shut down (EINVAL) or a fatal error
  }
}

void blocking_listener::close() {
  // shutdown() wakes a thread blocked in accept() on Linux; close() alone would not.
  ::shutdown(fd_, SHUT_RDWR);
}

bool blocking_connections::enter(int fd) {
  std::lock_guard lock(mutex_);
  if (stopping_) return false;
  open_.insert(fd);
  return true;
}

void blocking_connections::leave(int fd) {
  // All under the lock: the descriptor is closed only after it left the registry (so stop()
  // never shuts down a number that was already reused), and the notification happens before
  // the unlock — once stop() sees the registry empty it may return and this object may be
  // destroyed, so nothing of it may be touched after the unlock (tsan found the notify after it).
  std::lock_guard lock(mutex_);
  open_.erase(fd);
  ::close(fd);
  connection_closed_.notify_all();
}

bool blocking_connections::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

bool blocking_connections::sleep_unless_stopped(std::chrono::milliseconds duration) {
  std::unique_lock lock(mutex_);
  return !stop_requested_.wait_for(lock, duration, [this] { return stopping_; });
}

std::optional<gateway_result> blocking_connections::gateway_unless_stopped(const gateway_call& call) {
  call_canceller canceller(client_.pool());
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return std::nullopt;
    gateways_.insert(&canceller);
  }
  const gateway_result result = blocking_gateway(client_, call, run_, canceller);
  std::lock_guard lock(mutex_);
  gateways_.erase(&canceller);
  if (stopping_) return std::nullopt;
  return result;
}

void blocking_connections::serve_connection(int fd) {
  if (admit(fd)) serve_admitted(fd);
}

bool blocking_connections::admit(int fd) {
  if (enter(fd)) return true;
  ::close(fd);
  return false;
}

void blocking_connections::serve_admitted(int fd) {
  // The idle timeout is the socket's receive timeout: a silent client costs this thread at
  // most that long. The send timeout bounds a client that stops reading.
  const timeval timeout{static_cast<time_t>(idle_timeout_.count()), 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);

  http_session session;
  for (bool open = true; open;) {
    const next_step step = session.advance();
    if (!session.output().empty()) {
      if (!send_all(fd, session.output())) break;
      session.output_written();
    }
    switch (step.what) {
      case next_step::kind::read: {
        const std::span<char> space = session.read_space();
        ssize_t n;
        do n = ::recv(fd, space.data(), space.size(), 0);
        while (n < 0 && errno == EINTR);
        if (n <= 0) open = false;  // EOF, reset, idle timeout (EAGAIN) or stop
        else session.commit_read(static_cast<std::size_t>(n));
        break;
      }
      case next_step::kind::sleep:
        if (sleep_unless_stopped(std::chrono::milliseconds(step.amount))) session.finish_sleep();
        else open = false;
        break;
      case next_step::kind::compute:
        session.finish_compute(compute_xorshift(step.amount));
        break;
      case next_step::kind::gateway:
        if (const auto result = gateway_unless_stopped(step.gateway)) session.finish_gateway(*result);
        else open = false;
        break;
      case next_step::kind::close:
        open = false;
        break;
    }
  }
  leave(fd);
}

void blocking_connections::stop(std::chrono::milliseconds grace) {
  std::unique_lock lock(mutex_);
  stopping_ = true;
  for (const int fd : open_) ::shutdown(fd, SHUT_RDWR);
  for (call_canceller* gateway : gateways_) gateway->cancel();
  stop_requested_.notify_all();
  connection_closed_.wait_for(lock, grace, [this] { return open_.empty(); });
}

gateway_result blocking_gateway(downstream_client& client, const gateway_call& call,
                                const parallel_runner& run, call_canceller& canceller) {
  gateway_result result;
  if (!client.enabled()) {
    result.status = 502;
    return result;
  }
  const deadline_point deadline = gateway_deadline(std::chrono::steady_clock::now(), call.deadline_ms);
  std::atomic<int> status{200};  // the first failure or timeout decides: 502 or 504
  const auto settle = [&](int code) {
    int expected = 200;
    status.compare_exchange_strong(expected, code);
    canceller.cancel();
  };
  std::atomic<std::uint32_t> answered{0};
  const auto one = [&](std::uint32_t i) {
    switch (client.call_blocking(i, call.ms, deadline, canceller, result.calls[i])) {
      case call_outcome::answered: ++answered; return true;
      case call_outcome::failed: settle(502); return false;
      case call_outcome::timed_out: settle(504); return false;
      case call_outcome::cancelled: return false;
    }
    return false;
  };
  if (call.sequential) {
    for (std::uint32_t i = 0; i < call.fanout && one(i); ++i) {
    }
  } else {
    run(call.fanout, [&](std::uint32_t i) { one(i); }, deadline);
  }
  result.status = status.load();
  // Calls that never ran: dropped by the runner at the deadline (504), or cancelled from
  // outside by a stopping server (no complete answer to give).
  if (result.status == 200 && answered.load() < call.fanout)
    result.status = deadline && std::chrono::steady_clock::now() >= *deadline ? 504 : 502;
  return result;
}

void block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int wait_for_stop_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  int signal = 0;
  sigwait(&set, &signal);
  return signal;
}

}  // namespace lab
