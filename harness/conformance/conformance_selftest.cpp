// The checks themselves are tested against small misbehaving servers run in this process: a
// check that cannot fail would prove nothing about the servers it passes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <algorithm>
#include <ctime>
#include <sys/wait.h>
#include <functional>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "conformance.h"
#include "process.h"
#include "registry.h"

namespace lab {
namespace {

using namespace std::chrono_literals;

std::string now_imf() {
  char buf[64];
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

// Answers every request head (up to "\r\n\r\n"; bodies are not understood) with
// respond(request_line); closes after the answer when close_after is set. A thread per
// connection; the listener stops with the object.
class fake_server {
 public:
  fake_server(std::function<std::string(const std::string&)> respond, bool close_after)
      : respond_(std::move(respond)), close_after_(close_after) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(listen_fd_, 128);
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    acceptor_ = std::thread([this] {
      while (true) {
        int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) return;
        std::thread([this, fd] { serve(fd); }).detach();
      }
    });
  }
  ~fake_server() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    ::close(listen_fd_);
    while (active_ > 0) std::this_thread::sleep_for(5ms);
  }
  int port() const { return port_; }

 private:
  void serve(int fd) {
    ++active_;
    timeval tv{1, 0};  // so a silent client cannot keep the thread past the test
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    std::string data;
    char buf[16384];
    for (int idle = 0; idle < 10;) {
      size_t end = data.find("\r\n\r\n");
      if (end != std::string::npos) {
        std::string line = data.substr(0, data.find("\r\n"));
        data.erase(0, end + 4);
        std::string reply = respond_(line);
        ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
        if (close_after_) break;
        continue;
      }
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n == 0) break;
      if (n < 0) {
        ++idle;
        continue;
      }
      data.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    --active_;
  }

  std::function<std::string(const std::string&)> respond_;
  bool close_after_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  std::atomic<int> active_{0};
};

// A "server" that answers Hello, World! in the contract's exact bytes to everything.
std::string plaintext_reply(const std::string&) {
  return "HTTP/1.1 200 OK\r\nServer: concurrency-lab\r\nDate: " + now_imf() +
         "\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
}

conformance_options options_for(const fake_server& server, bool exact = true) {
  conformance_options options;
  options.port = server.port();
  options.idle_timeout_s = 1;
  options.exact_cpp_bytes = exact;
  return options;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(conformance_selftest, names_are_unique_and_complete) {
  auto names = conformance_check_names();
  EXPECT_EQ(names.size(), 26u);
  std::set<std::string> unique(names.begin(), names.end());
  EXPECT_EQ(unique.size(), names.size());
  for (const char* expected : {"plaintext", "pipelining", "split_request", "idle_timeout",
                               "concurrent_sleep", "header_too_large", "exact_json_bytes"})
    EXPECT_TRUE(unique.count(expected)) << expected;
}

TEST(conformance_selftest, unknown_check_fails_with_the_valid_names) {
  auto result = run_check("no_such_check", {});
  EXPECT_FALSE(result.passed);
  EXPECT_TRUE(contains(result.detail, "unknown check 'no_such_check'; valid: plaintext, json"))
      << result.detail;
}

TEST(conformance_selftest, a_plaintext_only_server_passes_and_fails_the_right_checks) {
  fake_server server(plaintext_reply, false);
  auto options = options_for(server);
  for (const char* name : {"plaintext", "keep_alive", "exact_plaintext_bytes"}) {
    auto result = run_check(name, options);
    EXPECT_TRUE(result.passed) << name << ": " << result.detail;
  }
  struct expectation {
    const char* check;
    const char* detail;
  };
  for (const auto& [check, detail] : std::initializer_list<expectation>{
           {"json", "GET /json: Content-Type is \"text/plain\", expected \"application/json\""},
           {"compute_vectors", "GET /compute?n=0: expected body \"2463534242\""},
           {"split_request", "request sent one byte at a time: expected body \"2497366906\""},
           {"compute_bad_requests", "GET /compute: expected status 400, got 200"},
           {"sleep_bad_requests", "GET /sleep: expected status 400, got 200"},
           {"not_found", "GET /nope: expected status 404, got 200"},
           {"method_not_allowed", "POST /plaintext: expected status 405, got 200"},
           {"malformed_request_line", "request line 'GARBAGE': expected status 400, got 200"},
           {"header_too_large", "9000-byte header: expected status 431, got 200"},
           {"connection_close", "response lacks 'Connection: close'"},
           {"exact_json_bytes", "GET /json: bytes differ from the contract at offset 70"},
           {"pipelining", "pipelined response 2 of 16 (/json): got 200 \"Hello, World!\""},
       }) {
    auto result = run_check(check, options);
    EXPECT_FALSE(result.passed) << check;
    EXPECT_TRUE(contains(result.detail, detail)) << check << ": " << result.detail;
  }
}

TEST(conformance_selftest, idle_timeout_fails_when_the_server_never_closes) {
  fake_server server(plaintext_reply, false);
  auto start = std::chrono::steady_clock::now();
  auto result = run_check("idle_timeout", options_for(server));
  EXPECT_FALSE(result.passed);
  EXPECT_TRUE(contains(result.detail, "idle connection still open after")) << result.detail;
  EXPECT_GE(std::chrono::steady_clock::now() - start, 4s);  // waited 2 × idle + 3 s
}

TEST(conformance_selftest, closing_after_every_response_breaks_keep_alive) {
  fake_server server(plaintext_reply, true);
  auto result = run_check("keep_alive", options_for(server));
  EXPECT_FALSE(result.passed);
  EXPECT_TRUE(contains(result.detail, "connection closed before a response")) << result.detail;
  // ... and an early close is not an idle timeout either: it must not come before half of it.
  auto idle = run_check("idle_timeout", options_for(server));
  EXPECT_FALSE(idle.passed);
  EXPECT_TRUE(contains(idle.detail, "before half of the")) << idle.detail;
}

TEST(conformance_selftest, bad_date_and_missing_headers_are_caught) {
  fake_server old_date(
      [](const std::string&) {
        return std::string("HTTP/1.1 200 OK\r\nServer: x\r\nDate: Mon, 23 Nov 2020 05:00:00 GMT\r\n"
                           "Content-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!");
      },
      false);
  auto result = run_check("required_headers", options_for(old_date, false));
  EXPECT_FALSE(result.passed);
  EXPECT_TRUE(contains(result.detail, "is more than 60 s away from now")) << result.detail;

  fake_server no_server_header(
      [](const std::string&) {
        return "HTTP/1.1 200 OK\r\nDate: " + now_imf() +
               "\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";
      },
      false);
  result = run_check("required_headers", options_for(no_server_header, false));
  EXPECT_FALSE(result.passed);
  EXPECT_TRUE(contains(result.detail, "GET /plaintext: missing header Server")) << result.detail;
  // Not exact: a server that differs only in header bytes still passes plaintext...
  EXPECT_TRUE(run_check("plaintext", options_for(no_server_header, false)).passed);
  // ...but not the exact-bytes check, which is skipped when exact bytes are not asked for.
  EXPECT_FALSE(run_check("exact_plaintext_bytes", options_for(no_server_header, true)).passed);
  auto skipped = run_check("exact_plaintext_bytes", options_for(no_server_header, false));
  EXPECT_TRUE(skipped.passed && skipped.skipped);
}

TEST(conformance_selftest, nobody_listening_is_a_failure_not_a_crash) {
  conformance_options options;
  options.port = 1;  // nothing listens on port 1 of loopback
  for (const auto& result : run_conformance(options)) {
    if (result.skipped) continue;
    EXPECT_FALSE(result.passed) << result.name;
    EXPECT_TRUE(contains(result.detail, "connect to 127.0.0.1:1")) << result.name << ": " << result.detail;
  }
}

// The CLI, run as a real process: exit status and one line per check.
struct cli_run {
  int exit_code = -1;
  std::string out, err;
};

cli_run run_cli(const std::vector<std::string>& args) {
  namespace fs = std::filesystem;
  char pattern[] = "/tmp/lab-conformance-cli-XXXXXX";
  fs::path dir = ::mkdtemp(pattern);
  fs::path root = std::getenv("LAB_ROOT") ? std::getenv("LAB_ROOT") : LAB_SOURCE_ROOT;
  std::vector<std::string> argv = {(default_bin_dir(root) / "conformance_check").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  spawn_options options;
  options.stdout_path = dir / "out";
  options.stderr_path = dir / "err";
  auto child = child_process::spawn(argv, options);
  cli_run run;
  if (auto status = child.wait_for(30s); status && WIFEXITED(*status))
    run.exit_code = WEXITSTATUS(*status);
  run.out = tail_file(dir / "out", 100000);
  run.err = tail_file(dir / "err", 100000);
  fs::remove_all(dir);
  return run;
}

TEST(conformance_check_cli, reports_each_check_and_exits_nonzero_on_failure) {
  fake_server server(plaintext_reply, false);
  std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  auto ok = run_cli({"--url", url, "--exact", "--only", "plaintext", "--only", "exact_plaintext_bytes"});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_TRUE(contains(ok.out, "PASS  plaintext\n")) << ok.out;
  EXPECT_TRUE(contains(ok.out, "PASS  exact_plaintext_bytes\n")) << ok.out;
  EXPECT_TRUE(contains(ok.out, "OK: 2 of 2 checks passed")) << ok.out;

  auto bad = run_cli({"--url", url, "--only", "plaintext", "--only", "not_found"});
  EXPECT_EQ(bad.exit_code, 1) << bad.out << bad.err;
  EXPECT_TRUE(contains(bad.out, "FAIL  not_found  GET /nope: expected status 404, got 200")) << bad.out;
  EXPECT_TRUE(contains(bad.out, "FAILED: 1 of 2 checks passed")) << bad.out;

  auto list = run_cli({"--list"});
  EXPECT_EQ(list.exit_code, 0);
  EXPECT_EQ(std::count(list.out.begin(), list.out.end(), '\n'),
            static_cast<long>(conformance_check_names().size()));
}

TEST(conformance_check_cli, refuses_bad_targets) {
  auto remote = run_cli({"--url", "http://10.1.2.3:80"});
  EXPECT_EQ(remote.exit_code, 2);
  EXPECT_TRUE(contains(remote.err, "only loopback targets")) << remote.err;
  auto malformed = run_cli({"--url", "127.0.0.1:80"});
  EXPECT_EQ(malformed.exit_code, 2);
  EXPECT_TRUE(contains(malformed.err, "--url must look like http://127.0.0.1:8080")) << malformed.err;
  auto unknown = run_cli({"--url", "http://127.0.0.1:1", "--only", "nope"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_TRUE(contains(unknown.err, "unknown check 'nope'; valid: plaintext")) << unknown.err;
}

}  // namespace
}  // namespace lab
