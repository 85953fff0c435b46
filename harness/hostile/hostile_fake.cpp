#include "hostile_fake.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <regex>
#include <stdexcept>

namespace lab {

namespace {

using namespace std::chrono_literals;

constexpr size_t max_header = 8192;
constexpr size_t max_body = 1024 * 1024;

void send_all(int fd, const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return;
    sent += static_cast<size_t>(n);
  }
}

std::string response(int status, const std::string& reason, const std::string& body, bool close) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason +
         "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
         (close ? "\r\nConnection: close" : "") + "\r\n\r\n" + body;
}

bool valid_value(const std::string& value) {
  for (unsigned char c : value)
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  return true;
}

}  // namespace

hostile_fake::hostile_fake(hostile_faults faults) : faults_(faults) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
      ::listen(listen_fd_, 4096) != 0 ||
      ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error(std::string("hostile_fake: ") + std::strerror(errno));
  port_ = ntohs(addr.sin_port);
  for (int i = 0; i < faults_.fixed_pool; ++i) threads_.emplace_back([this] { worker_loop(); });
  acceptor_ = std::thread([this] { accept_loop(); });
}

hostile_fake::~hostile_fake() {
  stop_.store(true);
  ready_.notify_all();
  acceptor_.join();
  std::lock_guard lock(mutex_);  // the acceptor is gone: threads_ no longer grows
  for (auto& t : threads_) t.join();
  for (int fd : queue_) ::close(fd);
  if (listen_fd_ >= 0) ::close(listen_fd_);
}

void hostile_fake::accept_loop() {
  while (!stop_.load()) {
    if (fallen_.load() && listen_fd_ >= 0) {  // fallen over: nothing is accepted any more
      ::close(listen_fd_);
      listen_fd_ = -1;
    }
    if (listen_fd_ < 0) {
      std::this_thread::sleep_for(20ms);
      continue;
    }
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    std::lock_guard lock(mutex_);
    if (faults_.fixed_pool > 0) {
      queue_.push_back(fd);
      ready_.notify_one();
    } else {
      threads_.emplace_back([this, fd] { serve(fd); });
    }
  }
}

void hostile_fake::worker_loop() {
  for (;;) {
    int fd;
    {
      std::unique_lock lock(mutex_);
      ready_.wait(lock, [&] { return stop_.load() || !queue_.empty(); });
      if (stop_.load()) return;
      fd = queue_.front();
      queue_.pop_front();
    }
    serve(fd);
  }
}

void hostile_fake::serve(int fd) {
  static const std::regex request_line(R"((GET|HEAD) (/[\x21-\x7e]*) HTTP/1\.[01])");
  static const std::regex header_name(R"([!#$%&'*+.^_`|~0-9A-Za-z-]+)");
  std::string buffer;
  auto idle_since = std::chrono::steady_clock::now();
  bool open = true;
  while (open && !stop_.load()) {
    const size_t end = buffer.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (buffer.size() > max_header && !faults_.no_header_limit) {
        send_all(fd, response(431, "Request Header Fields Too Large", "Request Header Fields Too Large", true));
        break;
      }
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) {
        if (std::chrono::steady_clock::now() - idle_since > 2s) break;  // idle timeout
        continue;
      }
      char chunk[16384];
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) break;
      buffer.append(chunk, static_cast<size_t>(n));
      idle_since = std::chrono::steady_clock::now();
      continue;
    }
    // One whole header section: validate it, then answer.
    if (end + 4 > max_header && !faults_.no_header_limit) {
      send_all(fd, response(431, "Request Header Fields Too Large", "Request Header Fields Too Large", true));
      break;
    }
    const std::string head = buffer.substr(0, end + 2);
    size_t body = 0;
    int error = 0;
    const size_t line_end = head.find("\r\n");
    if (!std::regex_match(head.substr(0, line_end), request_line)) {
      error = 400;
      if (faults_.dies_on_garbage) fallen_.store(true);
    }
    int lengths = 0;
    for (size_t at = line_end + 2; !error && at < head.size();) {
      const size_t next = head.find("\r\n", at);
      const std::string line = head.substr(at, next - at);
      at = next + 2;
      const size_t colon = line.find(':');
      if (colon == std::string::npos || !std::regex_match(line.substr(0, colon), header_name)) {
        error = 400;
        break;
      }
      std::string name = line.substr(0, colon), value = line.substr(colon + 1);
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (!faults_.accepts_control_bytes && !valid_value(value)) error = 400;
      if (name == "transfer-encoding") error = 400;  // no chunked bodies here: refused
      if (name == "content-length") {
        const size_t digits = value.find_first_not_of(' ');
        const std::string number = value.substr(digits == std::string::npos ? 0 : digits);
        if (number.empty() || number.size() > 8 ||
            number.find_first_not_of("0123456789") != std::string::npos) {
          error = 400;
        } else if (++lengths == 1 || faults_.first_content_length) {
          if (lengths == 1) body = std::stoul(number);
        } else {
          error = 400;
        }
      }
    }
    if (!error && body > max_body) error = 413;
    if (error) {
      send_all(fd, response(error, error == 413 ? "Payload Too Large" : "Bad Request",
                            error == 413 ? "Payload Too Large" : "Bad Request", true));
      break;
    }
    while (buffer.size() < end + 4 + body && !stop_.load()) {  // read the body and drop it
      char chunk[16384];
      ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
      if (n <= 0) {
        open = false;
        break;
      }
      buffer.append(chunk, static_cast<size_t>(n));
    }
    if (!open) break;
    buffer.erase(0, end + 4 + body);
    const bool close = head.find("\r\nConnection: close") != std::string::npos;
    send_all(fd, response(200, "OK", "Hello, World!", close));
    if (close) break;
  }
  // A lingering close: closing with unread requests would send a reset, and the peer's
  // kernel would drop the answers it has not read yet.
  ::shutdown(fd, SHUT_WR);
  for (auto until = std::chrono::steady_clock::now() + 1s;
       std::chrono::steady_clock::now() < until && !stop_.load();) {
    pollfd p{fd, POLLIN, 0};
    char sink[16384];
    if (::poll(&p, 1, 50) > 0 && ::recv(fd, sink, sizeof sink, 0) <= 0) break;
  }
  ::close(fd);
  if (faults_.leaks_threads)
    while (!stop_.load()) std::this_thread::sleep_for(20ms);
}

}  // namespace lab
