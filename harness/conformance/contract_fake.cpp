#include "contract_fake.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>
#include <vector>

namespace lab {

struct fake_request {
  enum class kind { need_more, complete, bad } what = kind::need_more;
  std::size_t consumed = 0;  // bytes of this request, body included
  int error_status = 0;      // for bad: 400, 413 or 431
  std::string method, target;
  int version = 11;
  bool keep_alive = true;
};

struct contract_fake::answer {
  std::string bytes;
  bool close = false;         // close after writing bytes
  bool silent_close = false;  // close without writing anything
};

namespace {

using clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
constexpr auto npos = std::string_view::npos;

// Control characters: anything below 0x20 but HTAB (allowed in values only), and DEL.
bool has_control(std::string_view s, bool tab_allowed) {
  return std::any_of(s.begin(), s.end(), [&](char c) {
    unsigned char u = static_cast<unsigned char>(c);
    return (u < 0x20 && !(tab_allowed && c == '\t')) || u == 0x7f;
  });
}

bool is_token(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("!#$%&'*+-.^_`|~", c);
  });
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// True if the comma-separated list holds token (case-insensitive).
bool has_token(std::string_view list, std::string_view token) {
  std::string all = lower(list);
  for (std::string_view rest = all; !rest.empty();) {
    size_t comma = rest.find(',');
    if (trim(rest.substr(0, comma)) == token) return true;
    if (comma == npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

fake_request bad(int status, std::size_t consumed = 0) {
  fake_request r;
  r.what = fake_request::kind::bad;
  r.error_status = status;
  r.consumed = consumed;
  return r;
}

// One request from the start of in: complete, need_more, or bad with its status. The first
// `uncounted` bytes do not count against the header limit (header_limit_per_read).
fake_request parse(std::string_view in, const fake_faults& f, size_t uncounted = 0) {
  const size_t end = in.find("\r\n\r\n");
  const size_t line_end = in.find("\r\n");
  if (f.header_limit_per_part) {
    size_t line = line_end == npos ? in.size() : line_end + 2;
    size_t fields = line_end == npos ? 0 : (end == npos ? in.size() : end + 4) - line;
    if ((line > f.header_limit && !f.request_line_unlimited) || fields > f.header_limit)
      return bad(431);
  } else if (f.header_limit_per_line) {
    for (size_t at = 0; at < (end == npos ? in.size() : end);) {
      size_t eol = std::min(in.find("\r\n", at), in.size());
      if (eol + 2 - at > f.header_limit) return bad(431);
      at = eol + 2;
    }
  } else if ((end == npos ? in.size() : end + 4) - uncounted > f.header_limit) {
    return bad(431);
  }
  if (end == npos) return {};

  fake_request r;
  std::string_view line = in.substr(0, line_end);
  size_t sp1 = line.find(' '), sp2 = sp1 == npos ? npos : line.find(' ', sp1 + 1);
  if (sp2 == npos || line.find(' ', sp2 + 1) != npos) return bad(400, end + 4);
  r.method = line.substr(0, sp1);
  r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = line.substr(sp2 + 1);
  if (!is_token(r.method) || r.target.empty() || r.target[0] != '/') return bad(400, end + 4);
  if (has_control(r.target, false) && !f.control_chars_accepted) return bad(400, end + 4);
  if (version == "HTTP/1.1")
    r.version = 11;
  else if (version == "HTTP/1.0")
    r.version = 10;
  else
    return bad(400, end + 4);

  std::optional<std::uint64_t> content_length;
  bool chunked = false;
  std::string connection;
  for (size_t at = line_end + 2; at < end + 2;) {
    size_t eol = in.find("\r\n", at);
    std::string_view field = in.substr(at, eol - at);
    at = eol + 2;
    size_t colon = field.find(':');
    if (colon == npos || !is_token(field.substr(0, colon))) return bad(400, end + 4);
    std::string name = lower(field.substr(0, colon));
    std::string_view value = trim(field.substr(colon + 1));
    if (has_control(value, true) && !f.control_chars_accepted) return bad(400, end + 4);
    if (name == "content-length") {
      if (value.empty() || value.size() > 18 ||
          !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return bad(400, end + 4);
      content_length = std::stoull(std::string(value));
    } else if (name == "transfer-encoding") {
      if (!has_token(value, "chunked")) return bad(400, end + 4);
      chunked = true;
    } else if (name == "connection") {
      connection += std::string(value) + ",";
    }
  }
  r.keep_alive =
      r.version == 11 ? !has_token(connection, "close") : has_token(connection, "keep-alive");

  size_t at = end + 4;
  if (f.ignores_body) {
    // the body stays in the buffer and is parsed as requests
  } else if (chunked) {
    std::uint64_t total = 0;
    for (;;) {
      size_t eol = in.find("\r\n", at);
      if (eol == npos) return in.size() - at > 1024 ? bad(400) : fake_request{};
      std::string_view size_text = trim(in.substr(at, std::min(eol, in.find(';', at)) - at));
      if (size_text.empty() || size_text.size() > 15 ||
          !std::all_of(size_text.begin(), size_text.end(),
                       [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); }))
        return bad(400);
      std::uint64_t size = std::stoull(std::string(size_text), nullptr, 16);
      total += size;
      if (!f.chunked_unlimited && total > f.body_limit) return bad(413);
      at = eol + 2;
      if (size == 0) {  // trailer lines, then the empty line that ends the body
        for (;;) {
          size_t trailer_end = in.find("\r\n", at);
          if (trailer_end == npos) return {};
          bool empty = trailer_end == at;
          at = trailer_end + 2;
          if (empty) break;
        }
        break;
      }
      if (in.size() < at + size + 2) return {};
      if (in.substr(at + size, 2) != "\r\n") return bad(400);
      at += size + 2;
    }
  } else if (content_length) {
    if (*content_length > f.body_limit) return bad(413);
    if (in.size() < at + *content_length) return {};
    at += *content_length;
  }
  r.what = fake_request::kind::complete;
  r.consumed = at;
  return r;
}

// application/x-www-form-urlencoded: %XX is a byte, '+' a space; nullopt on a bad escape.
std::optional<std::string> form_decode(std::string_view raw) {
  std::string value;
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '+') {
      value += ' ';
    } else if (raw[i] == '%') {
      if (i + 2 >= raw.size() || !std::isxdigit(static_cast<unsigned char>(raw[i + 1])) ||
          !std::isxdigit(static_cast<unsigned char>(raw[i + 2])))
        return std::nullopt;
      value += static_cast<char>(std::stoi(std::string(raw.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      value += raw[i];
    }
  }
  return value;
}

// The contract's query rule: the first pair whose raw name is name counts; its value is
// form-decoded and must be digits (leading zeros allowed) no larger than max.
std::optional<std::uint64_t> query_number(std::string_view query, std::string_view name,
                                          std::uint64_t max, const fake_faults& f) {
  std::optional<std::string> whole;
  if (f.whole_query_decoded && !(whole = form_decode(query))) return std::nullopt;
  if (whole) query = *whole;
  for (std::string_view rest = query; !rest.empty();) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == npos ? std::string_view{} : rest.substr(amp + 1);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    if (eq == npos) return std::nullopt;
    std::string_view raw = pair.substr(eq + 1);
    auto decoded =
        f.no_percent_decoding || whole ? std::optional(std::string(raw)) : form_decode(raw);
    if (!decoded) return std::nullopt;
    const std::string& value = *decoded;
    auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (f.lenient_numbers) {  // atoi: leading digits, anything else is 0
      std::uint64_t n = 0;
      for (size_t i = 0; i < value.size() && digit(value[i]) && n <= max; ++i)
        n = n * 10 + (value[i] - '0');
      return n <= max ? std::optional(n) : std::nullopt;
    }
    if (value.empty() || !std::all_of(value.begin(), value.end(), digit)) return std::nullopt;
    if (f.reject_leading_zeros && value.size() > 1 && value[0] == '0') return std::nullopt;
    std::string_view digits = value;
    digits.remove_prefix(std::min(digits.find_first_not_of('0'), digits.size() - 1));
    if (digits.size() > std::to_string(max).size()) return std::nullopt;
    std::uint64_t n = std::stoull(std::string(digits));
    return n <= max ? std::optional(n) : std::nullopt;
  }
  return std::nullopt;
}

// The first pair whose raw name is name: true if there is one; decoded is its form-decoded
// value (nullopt on a bad escape).
bool query_pair(std::string_view query, std::string_view name,
                std::optional<std::string>& decoded) {
  for (std::string_view rest = query; !rest.empty();) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    rest = amp == npos ? std::string_view{} : rest.substr(amp + 1);
    size_t eq = pair.find('=');
    if (pair.substr(0, eq) != name) continue;
    decoded = eq == npos ? std::optional<std::string>("") : form_decode(pair.substr(eq + 1));
    return true;
  }
  return false;
}

std::uint32_t xorshift(std::uint64_t n, bool signed_shift) {
  std::uint32_t x = 2463534242u;
  for (std::uint64_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= signed_shift ? static_cast<std::uint32_t>(static_cast<std::int32_t>(x) >> 17) : x >> 17;
    x ^= x << 5;
  }
  return x;
}

std::string reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Payload Too Large";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    case 504:
      return "Gateway Timeout";
    default:
      return "Request Header Fields Too Large";
  }
}

std::string http_date(bool asctime_format) {
  char text[64];
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  ::gmtime_r(&now, &utc);
  std::strftime(text, sizeof text,
                asctime_format ? "%a %b %e %H:%M:%S %Y" : "%a, %d %b %Y %H:%M:%S GMT", &utc);
  return text;
}

enum class connection_header { none, close, keep_alive };

struct response_spec {
  int status = 200;
  std::string type = "text/plain";
  std::string body;
  bool head = false;
  connection_header connection = connection_header::none;
  bool allow = false;
};

// The C++ servers' bytes, or a reference server's (reordered, extra headers), with faults.
std::string render(const response_spec& r, const fake_faults& f) {
  std::string length = std::to_string(r.body.size());
  if (r.head && f.head_zero_length) length = "0";
  if (r.status == 404 && f.short_content_length) length = "8";
  std::string date =
      f.no_date_on_errors && r.status >= 400 ? "" : "Date: " + http_date(f.date_not_imf) + "\r\n";
  std::string server = "Server: concurrency-lab\r\n";
  std::string connection = r.connection == connection_header::close ? "Connection: close\r\n"
                           : r.connection == connection_header::keep_alive
                               ? "Connection: keep-alive\r\n"
                               : "";
  std::string out = "HTTP/1.1 " + std::to_string(r.status) + " " + reason(r.status) + "\r\n";
  if (f.reference_style) {
    out += "Content-Type: " + r.type + "; charset=utf-8\r\nX-Powered-By: contract-fake\r\n" + date +
           "Content-Length: " + length + "\r\n" + connection +
           (r.allow ? "Allow: HEAD, GET\r\n" : "") + "Server: fake-reference\r\n" +
           (r.connection == connection_header::close ? "" : "Keep-Alive: timeout=1\r\n");
  } else {
    out += f.date_before_server ? date + server : server + date;
    out += "Content-Type: " + r.type + "\r\nContent-Length: " + length + "\r\n" + connection;
    if (r.allow && !f.no_allow_header) out += "Allow: GET, HEAD\r\n";
  }
  out += "\r\n";
  if (!r.head || f.head_body) out += r.body;
  return out;
}

// The answer to a request the parser rejected; the connection closes after it.
std::string error_reply(int status, bool keep_open, const fake_faults& f) {
  if (f.bare_closing_errors)
    return "HTTP/1.1 " + std::to_string(status) + " " + reason(status) +
           "\r\nConnection: close\r\n\r\n" + reason(status);
  response_spec r;
  r.status = status;
  r.body = reason(status);
  r.connection = keep_open ? connection_header::none : connection_header::close;
  return render(r, f);
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Stop writing, read what the client still sends for a moment (so it gets our answer rather
// than a reset), then close.
void linger_close(int fd) {
  ::shutdown(fd, SHUT_WR);
  char buf[65536];
  for (auto until = clock::now() + 500ms; clock::now() < until;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) > 0 && ::recv(fd, buf, sizeof buf, 0) <= 0) break;
  }
  ::close(fd);
}

int listen_loopback(int& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 1024) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error(std::string("contract_fake: cannot listen: ") + std::strerror(errno));
  port = ntohs(addr.sin_port);
  return fd;
}

// A connection to 127.0.0.1:port, or -1 (refused).
int connect_loopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
  if (fd >= 0) ::close(fd);
  return -1;
}

// A whole response (Content-Length framed) at the start of in: its status and body.
bool parse_answer(const std::string& in, int& status, std::string& body) {
  size_t end = in.find("\r\n\r\n");
  if (end == npos) return false;
  std::string head = lower(in.substr(0, end));
  size_t at = head.find("\r\ncontent-length:");
  std::size_t length = at == npos ? 0 : std::strtoul(head.c_str() + at + 17, nullptr, 10);
  if (in.size() < end + 4 + length) return false;
  status = in.size() > 12 ? std::atoi(in.c_str() + 9) : 0;
  body = in.substr(end + 4, length);
  return true;
}

// Waits up to 20 ms for fd to be readable.
bool readable(int fd) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, 20) > 0;
}

}  // namespace

contract_fake::contract_fake(fake_faults faults, int idle_timeout_ms, int downstream_port)
    : faults_(faults), idle_timeout_ms_(idle_timeout_ms), downstream_port_(downstream_port) {
  listen_fd_ = listen_loopback(port_);
  acceptor_ = std::thread([this] {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (stop_) return;
        continue;
      }
      ++active_;
      std::thread([this, fd] {
        serve(fd);
        --active_;
      }).detach();
    }
  });
}

contract_fake::~contract_fake() {
  stop_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);  // wakes accept()
  acceptor_.join();
  ::close(listen_fd_);
  sleep_slot_freed_.notify_all();
  while (active_ > 0) std::this_thread::sleep_for(5ms);
  for (int fd : leaked_fds_) ::close(fd);
}

int contract_fake::gateway(int fanout, int ms, bool sequential, int deadline_ms,
                           std::string& body) {
  const fake_faults& f = faults_;
  struct call {
    int fd = -1;
    std::string in;
    bool done = false;
    long long i = 0, ms = 0;
  };
  std::vector<call> calls(static_cast<size_t>(fanout));
  const auto deadline = deadline_ms > 0 && !f.gateway_no_deadline
                            ? clock::now() + std::chrono::milliseconds(deadline_ms)
                            : clock::time_point::max();
  if (f.gateway_504_without_calls && deadline_ms > 0 && deadline_ms < ms) {
    std::this_thread::sleep_for(std::chrono::milliseconds(deadline_ms));
    return 504;
  }
  const bool at_once = sequential ? f.gateway_at_once : !f.gateway_sequential;
  // Port 9 (discard): nothing listens there, the registry's address for "no downstream".
  const int port = downstream_port_ ? downstream_port_ : 9;
  size_t started = 0;
  auto start = [&]() {
    call& c = calls[started];
    c.fd = connect_loopback(port);
    const std::string request = "GET /delay?ms=" + std::to_string(ms) +
                                "&i=" + std::to_string(started) +
                                " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    ++started;
    return c.fd >= 0 && write_all(c.fd, request);
  };
  int status = 200;
  while (status == 200) {
    if (started < calls.size() && (at_once || started == 0 || calls[started - 1].done)) {
      if (!start()) status = 502;
      continue;
    }
    std::vector<pollfd> waiting;
    std::vector<call*> which;
    for (size_t k = 0; k < started; ++k)
      if (!calls[k].done) {
        waiting.push_back({calls[k].fd, POLLIN, 0});
        which.push_back(&calls[k]);
      }
    if (waiting.empty()) break;  // every call answered
    const auto now = clock::now();
    if (now >= deadline) {
      status = 504;
      break;
    }
    if (stop_) {
      status = 502;
      break;
    }
    auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - now).count();
    if (::poll(waiting.data(), waiting.size(), static_cast<int>(std::min<long long>(20, left))) <= 0)
      continue;
    for (size_t k = 0; k < waiting.size() && status == 200; ++k) {
      if (!waiting[k].revents) continue;
      call& c = *which[k];
      char buf[4096];
      ssize_t n = ::recv(c.fd, buf, sizeof buf, 0);
      if (n <= 0) {
        status = 502;
        break;
      }
      c.in.append(buf, static_cast<size_t>(n));
      int answer_status = 0;
      std::string answer;
      if (!parse_answer(c.in, answer_status, answer)) continue;
      if (answer_status != 200 ||
          std::sscanf(answer.c_str(), "{\"i\":%lld,\"ms\":%lld}", &c.i, &c.ms) != 2) {
        status = 502;
        break;
      }
      c.done = true;
      ::close(c.fd);
      c.fd = -1;
    }
  }
  // Cancel what is still outstanding: close its connection (or, as a fault, leave it open).
  for (auto& c : calls) {
    if (c.fd < 0) continue;
    if (status == 504 && f.gateway_no_cancel) {
      std::lock_guard lock(leaked_mutex_);
      leaked_fds_.push_back(c.fd);
    } else {
      ::close(c.fd);
    }
  }
  if (status == 502 && f.gateway_500) return 500;
  if (status != 200) return status;
  if (f.gateway_reversed) std::reverse(calls.begin(), calls.end());
  const bool spaced = f.reference_style;  // another key order and spacing, the same value
  std::string list;
  for (const auto& c : calls)
    list += (list.empty() ? "" : spaced ? ", " : ",") + std::string(spaced ? "{\"i\": " : "{\"i\":") +
            std::to_string(c.i) + (spaced ? ", \"ms\": " : ",\"ms\":") + std::to_string(c.ms) + "}";
  const std::string mode = sequential ? "sequential" : "parallel";
  body = spaced ? "{\"calls\": [" + list + "], \"mode\": \"" + mode + "\", \"fanout\": " +
                      std::to_string(fanout) + "}"
                : "{\"fanout\":" + std::to_string(fanout) + ",\"mode\":\"" + mode +
                      "\",\"calls\":[" + list + "]}";
  return 200;
}

void contract_fake::sleep_for_request(int ms) {
  const int limit = faults_.max_concurrent_sleeps;
  if (limit > 0) {
    std::unique_lock lock(sleep_mutex_);
    sleep_slot_freed_.wait(lock, [&] { return sleeping_ < limit || stop_; });
    ++sleeping_;
  }
  std::this_thread::sleep_for(
      std::chrono::microseconds(static_cast<long long>(ms * 1000 * faults_.sleep_factor)));
  if (limit > 0) {
    std::lock_guard lock(sleep_mutex_);
    --sleeping_;
    sleep_slot_freed_.notify_one();
  }
}

contract_fake::answer contract_fake::respond(const fake_request& request,
                                             clock::time_point last_read) {
  const fake_faults& f = faults_;
  const auto idle = std::chrono::milliseconds(idle_timeout_ms_);
  std::string_view target = request.target;
  size_t question = target.find('?');
  std::string path(f.query_in_path ? target : target.substr(0, question));
  if (f.decodes_path)
    for (size_t at; (at = path.find('%')) != std::string::npos && at + 2 < path.size();)
      path.replace(at, 3, 1, static_cast<char>(std::stoi(path.substr(at + 1, 2), nullptr, 16)));
  std::string_view query = question == npos ? "" : target.substr(question + 1);

  answer a;
  response_spec r;
  r.head = request.method == "HEAD";
  if (request.version == 11 && !request.keep_alive) {
    a.close = !f.ignores_connection_close;
    if (a.close) r.connection = connection_header::close;
  } else if (request.version == 10 && request.keep_alive) {
    if (!f.http10_no_keep_alive) r.connection = connection_header::keep_alive;
  } else if (request.version == 10) {
    a.close = !f.http10_keeps_open;
    if (a.close) r.connection = connection_header::close;
  }

  const bool known = path == "/plaintext" || path == "/json" || path == "/compute" ||
                     path == "/sleep" || path == "/gateway";
  if (!known) {
    r.status = 404;
    r.body = "Not Found";
    a.close = a.close || f.not_found_closes;
  } else if (request.method != "GET" && request.method != "HEAD") {
    r.status = 405;
    r.body = "Method Not Allowed";
    r.allow = true;
  } else if (path == "/plaintext") {
    r.body = "Hello, World!";
  } else if (path == "/json") {
    r.type = "application/json";
    r.body = f.wrong_json        ? R"({"message":"Hello World!"})"
             : f.reference_style ? R"({"message": "Hello, World!"})"
                                 : R"({"message":"Hello, World!"})";
  } else if (path == "/gateway") {
    auto fanout = query_number(query, "fanout", f.gateway_fanout_unlimited ? 1000 : 64, f);
    auto ms = query_number(query, "ms", 60'000, f);
    std::optional<std::string> mode = "parallel";
    query_pair(query, "mode", mode);
    std::optional<std::string> deadline_text;
    std::optional<std::uint64_t> deadline = 0;  // none
    if (query_pair(query, "deadline_ms", deadline_text))
      deadline = query_number(query, "deadline_ms", 600'000, f);
    if (!fanout || *fanout < 1 || !ms || (mode != "parallel" && mode != "sequential") ||
        !deadline || (deadline_text && *deadline < 1)) {
      r.status = 400;
      r.body = "Bad Request";
      a.close = a.close || f.bad_request_closes;
    } else {
      std::string body;
      r.status = gateway(static_cast<int>(*fanout), static_cast<int>(*ms), mode == "sequential",
                         static_cast<int>(*deadline), body);
      if (r.status == 200) {
        r.type = "application/json";
        r.body = body;
      } else {
        r.body = reason(r.status);
      }
    }
  } else {
    const bool is_compute = path == "/compute";
    auto value = query_number(query, is_compute ? "n" : "ms", is_compute ? 10'000'000 : 60'000, f);
    if (!value) {
      r.status = 400;
      r.body = "Bad Request";
      a.close = a.close || f.bad_request_closes;
    } else if (is_compute) {
      r.body = std::to_string(xorshift(*value, f.signed_shift));
      if (f.compute_counts_as_idle && clock::now() - last_read >= idle) return {"", false, true};
    } else {
      if (f.sleep_counts_as_idle &&
          last_read + idle < clock::now() + std::chrono::milliseconds(*value)) {
        std::this_thread::sleep_until(last_read + idle);
        return {"", false, true};
      }
      sleep_for_request(static_cast<int>(*value));
      r.body = std::to_string(*value);
    }
  }
  a.close = a.close || f.close_after_each;
  a.bytes = render(r, f);
  return a;
}

void contract_fake::serve(int fd) {
  const fake_faults& f = faults_;
  std::string in;
  size_t uncounted = 0;  // header_limit_per_read: header lines complete before this read
  auto last_read = clock::now();
  for (;;) {
    // Answer every complete request in the buffer, in order.
    std::vector<std::string> held;  // reorder_pipeline: written last first after the loop
    auto emit = [&](std::string bytes) {
      if (f.reorder_pipeline)
        held.push_back(std::move(bytes));
      else
        write_all(fd, bytes);
    };
    bool close = false, silent = false, close_after_batch = false;
    while (!stop_ && !close) {
      fake_request request = parse(in, f, uncounted);
      if (request.what == fake_request::kind::need_more) {
        size_t last_line = in.rfind("\r\n");
        if (f.header_limit_per_read && last_line != npos) uncounted = last_line + 2;
        break;
      }
      uncounted = 0;
      if (request.what == fake_request::kind::bad) {
        bool keep = f.malformed_keeps_open && request.error_status == 400 && request.consumed > 0;
        emit(error_reply(request.error_status, keep, f));
        if (!keep) close = true;
        in.erase(0, request.consumed);
        continue;
      }
      in.erase(0, request.consumed);
      answer a = respond(request, last_read);
      if (a.silent_close) {
        silent = true;
        break;
      }
      emit(std::move(a.bytes));
      if (f.drop_pipelined) in.clear();
      if (a.close && !f.answers_after_close) close = true;
      close_after_batch = close_after_batch || a.close;
    }
    close = close || close_after_batch;
    for (auto it = held.rbegin(); it != held.rend(); ++it) write_all(fd, *it);
    if (silent || stop_) {
      ::close(fd);
      return;
    }
    if (close) {
      linger_close(fd);
      return;
    }
    if (f.split_breaks) in.clear();

    // Wait for the next bytes, closing the connection silently when it stays idle too long.
    const int idle_ms = f.idle_close_ms < 0 ? idle_timeout_ms_ : f.idle_close_ms;
    const auto idle_start = clock::now();
    for (;;) {
      if (stop_) {
        ::close(fd);
        return;
      }
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) break;
      if (idle_ms > 0 && clock::now() - idle_start >= std::chrono::milliseconds(idle_ms)) {
        ::close(fd);
        return;
      }
    }
    char buf[65536];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      ::close(fd);
      return;
    }
    in.append(buf, static_cast<size_t>(n));
    last_read = clock::now();
  }
}

// ---------------------------------------------------------------------------------------------
// fake_downstream

fake_downstream::fake_downstream() {
  listen_fd_ = listen_loopback(port_);
  acceptor_ = std::thread([this] {
    for (;;) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) {
        if (stop_) return;
        continue;
      }
      ++active_;
      std::thread([this, fd] {
        serve(fd);
        ::close(fd);
        --active_;
      }).detach();
    }
  });
}

fake_downstream::~fake_downstream() {
  stop_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  ::close(listen_fd_);
  while (active_ > 0) std::this_thread::sleep_for(5ms);
}

void fake_downstream::serve(int fd) {
  std::string in;
  char buf[4096];
  // Reads more bytes into in; false when the peer closed (or the fake stops).
  auto fill = [&]() {
    while (!stop_)
      if (readable(fd)) {
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return false;
        in.append(buf, static_cast<size_t>(n));
        return true;
      }
    return false;
  };
  for (;;) {
    size_t end;
    while ((end = in.find("\r\n\r\n")) == npos)
      if (!fill()) return;
    std::string line = in.substr(0, in.find("\r\n"));
    in.erase(0, end + 4);
    size_t sp1 = line.find(' '), sp2 = line.rfind(' ');
    std::string target = sp1 < sp2 ? line.substr(sp1 + 1, sp2 - sp1 - 1) : "";
    size_t question = target.find('?');
    std::string path = target.substr(0, question);
    std::string query = question == npos ? "" : target.substr(question + 1);
    int status = 200;
    std::string body;
    if (path == "/stats") {
      body = "{\"served\":" + std::to_string(served_) + ",\"in_flight\":" +
             std::to_string(in_flight_) + ",\"cancelled\":" + std::to_string(cancelled_) + "}";
    } else if (path == "/delay") {
      auto ms = query_number(query, "ms", 60'000, {});
      auto i = query_number(query, "i", 1'000'000, {});
      if (!ms || !i) {
        status = 400;
        body = "Bad Request";
      } else {
        // Wait, watching the connection: EOF or a reset before the answer is a cancellation.
        ++in_flight_;
        const auto until = clock::now() + std::chrono::milliseconds(*ms);
        while (clock::now() < until) {
          if (stop_) {
            --in_flight_;
            return;
          }
          pollfd p{fd, POLLIN, 0};
          auto left = std::chrono::ceil<std::chrono::milliseconds>(until - clock::now()).count();
          if (::poll(&p, 1, static_cast<int>(std::clamp<long long>(left, 0, 20))) <= 0) continue;
          ssize_t n = ::recv(fd, buf, sizeof buf, 0);
          if (n <= 0) {
            --in_flight_;
            ++cancelled_;
            return;
          }
          in.append(buf, static_cast<size_t>(n));  // pipelined: answered after this one
        }
        --in_flight_;
        ++served_;
        body = "{\"i\":" + std::to_string(*i) + ",\"ms\":" + std::to_string(*ms) + "}";
      }
    } else {
      status = 404;
      body = "Not Found";
    }
    std::string response = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) +
                           "\r\nContent-Type: " +
                           (status == 200 ? "application/json" : "text/plain") +
                           "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                           body;
    if (!write_all(fd, response)) return;
  }
}

}  // namespace lab
