// server_process against small Python stand-ins for servers: readiness needs the listening
// line for the chosen port, and stop() reports exit status, hangs and sanitizer reports.
#include "server_process.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <thread>

namespace lab {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A stand-in server: listens on {port}, prints `line` (with {port} replaced), writes `err` to
// stderr, and on SIGTERM exits with `term_exit` (or ignores SIGTERM when term_exit < 0).
server_spec python_server(const std::string& line, int term_exit, const std::string& err = "") {
  std::string code =
      "import socket, signal, sys, time\n"
      "port = int(sys.argv[1])\n"
      "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
      "s.bind(('127.0.0.1', port)); s.listen(16)\n";
  if (term_exit >= 0)
    code += "signal.signal(signal.SIGTERM, lambda *a: sys.exit(" + std::to_string(term_exit) + "))\n";
  else
    code += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n";
  if (!err.empty()) code += "sys.stderr.write('''" + err + "'''); sys.stderr.flush()\n";
  code += "print('" + line + "'.replace('{port}', str(port)), flush=True)\n"
          "while True: time.sleep(0.05)\n";
  server_spec spec;
  spec.name = "stand_in";
  spec.start = {"/usr/bin/python3", "-c", code, "{port}"};
  return spec;
}

struct temp_dir {
  fs::path path;
  temp_dir() {
    char pattern[] = "/tmp/lab-server-process-XXXXXX";
    path = ::mkdtemp(pattern);
  }
  ~temp_dir() { fs::remove_all(path); }
};

server_start_options options_in(const temp_dir& dir, std::chrono::milliseconds ready = 10s) {
  server_start_options o;
  o.values.root = dir.path;
  o.stdout_path = dir.path / "stdout.txt";
  o.stderr_path = dir.path / "stderr.txt";
  o.ready_timeout = ready;
  o.attempts = 1;
  return o;
}

TEST(server_process, listening_line_must_name_the_port) {
  EXPECT_EQ(find_listening_line("listening on 127.0.0.1:8080 (event_loop, 1 threads)\n", 8080),
            "listening on 127.0.0.1:8080 (event_loop, 1 threads)");
  EXPECT_FALSE(find_listening_line("listening on 127.0.0.1:8081 (x)\n", 8080));
  EXPECT_FALSE(find_listening_line("listening on 127.0.0.1:80800 (x)\n", 8080));
  EXPECT_FALSE(find_listening_line("not listening on 127.0.0.1:8080\n", 8080));
  EXPECT_TRUE(find_listening_line("starting\nlistening on [::1]:9 (x)\n", 9));
}

TEST(server_process, sanitizer_reports_are_found) {
  EXPECT_EQ(find_sanitizer_report("all fine\n"), "");
  auto report = find_sanitizer_report("x\n==12==ERROR: AddressSanitizer: heap-use-after-free\nmore");
  EXPECT_EQ(report.rfind("==12==ERROR: AddressSanitizer", 0), 0u) << report;
  EXPECT_NE(find_sanitizer_report("a.cpp:3:5: runtime error: signed integer overflow"), "");
  EXPECT_NE(find_sanitizer_report("WARNING: ThreadSanitizer: data race"), "");
}

TEST(server_process, ready_after_its_listening_line_and_clean_exit_on_sigterm) {
  temp_dir dir;
  auto server = server_process::start(python_server("listening on 127.0.0.1:{port} (stand_in)", 0),
                                      options_in(dir));
  EXPECT_GT(server.port(), 0);
  EXPECT_EQ(server.listening_line(), "listening on 127.0.0.1:" + std::to_string(server.port()) +
                                         " (stand_in)");
  auto exit = server.stop(5s);
  EXPECT_TRUE(exit.clean()) << exit.describe();
  EXPECT_EQ(exit.exit_code, 0);
}

TEST(server_process, a_line_for_another_port_is_not_ready) {
  temp_dir dir;
  try {
    server_process::start(python_server("listening on 127.0.0.1:1 (stand_in)", 0), options_in(dir, 1500ms));
    FAIL() << "a server announcing another port counted as ready";
  } catch (const server_start_error& e) {
    EXPECT_FALSE(e.exited);
    EXPECT_NE(std::string(e.what()).find("not ready within"), std::string::npos) << e.what();
  }
}

TEST(server_process, exit_before_ready_is_reported_with_stderr) {
  temp_dir dir;
  server_spec spec;
  spec.name = "quits";
  spec.start = {"sh", "-c", "echo cannot bind >&2; exit 4"};
  try {
    server_process::start(spec, options_in(dir));
    FAIL() << "an exiting server counted as ready";
  } catch (const server_start_error& e) {
    EXPECT_TRUE(e.exited);
    EXPECT_NE(std::string(e.what()).find("exited with 4"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cannot bind"), std::string::npos) << e.what();
  }
}

TEST(server_process, unclean_exits_are_not_clean) {
  temp_dir dir;
  {
    auto server = server_process::start(python_server("listening on 127.0.0.1:{port}", 3), options_in(dir));
    auto exit = server.stop(5s);
    EXPECT_FALSE(exit.clean());
    EXPECT_EQ(exit.exit_code, 3) << exit.describe();
  }
  {
    auto server = server_process::start(python_server("listening on 127.0.0.1:{port}", -1), options_in(dir));
    auto exit = server.stop(300ms);
    EXPECT_FALSE(exit.clean());
    EXPECT_FALSE(exit.exited_in_time) << exit.describe();
  }
  {
    auto server = server_process::start(
        python_server("listening on 127.0.0.1:{port}", 0, "==1==ERROR: AddressSanitizer: boom\\n"),
        options_in(dir));
    auto exit = server.stop(5s);
    EXPECT_FALSE(exit.clean());
    EXPECT_NE(exit.sanitizer_report.find("AddressSanitizer"), std::string::npos) << exit.describe();
  }
}

// A port taken between the pick and the server's bind: the server exits, and start() tries
// another port. The stand-in fails its first start as a server whose port is in use would, and
// notes every port it was given.
TEST(server_process, a_port_in_use_makes_start_try_another) {
  temp_dir dir;
  const fs::path tried = dir.path / "tried.txt";
  server_spec spec;
  spec.name = "port_taken_once";
  spec.start = {"/usr/bin/python3", "-c",
                "import os, signal, socket, sys, time\n"
                "signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n"
                "port, tried = int(sys.argv[1]), sys.argv[2]\n"
                "first = not os.path.exists(tried)\n"
                "open(tried, 'a').write(f'{port}\\n')\n"
                "if first: sys.exit('bind 127.0.0.1:%d: Address already in use' % port)\n"
                "s = socket.socket(); s.bind(('127.0.0.1', port)); s.listen(16)\n"
                "print(f'listening on 127.0.0.1:{port} (stand_in)', flush=True)\n"
                "while True: time.sleep(0.05)\n",
                "{port}", tried.string()};
  auto options = options_in(dir);
  options.attempts = 1;
  try {
    server_process::start(spec, options);
    FAIL() << "a server that could not bind counted as ready";
  } catch (const server_start_error& e) {
    EXPECT_TRUE(e.exited);
    EXPECT_NE(std::string(e.what()).find("Address already in use"), std::string::npos) << e.what();
  }
  fs::remove(tried);
  options.attempts = 3;
  auto server = server_process::start(spec, options);
  std::ifstream in(tried);
  int first = 0, second = 0;
  in >> first >> second;
  EXPECT_NE(first, 0);
  EXPECT_EQ(second, server.port()) << "the second attempt is the one that runs";
  EXPECT_NE(first, second) << "another port was chosen";
  EXPECT_TRUE(server.stop(5s).clean());
}

// A server that floods its stdout once it is ready: its log is capped and it keeps running.
TEST(server_process, a_server_flooding_stdout_is_capped_and_keeps_running) {
  temp_dir dir;
  server_spec spec = python_server("listening on 127.0.0.1:{port} (stand_in)", 0);
  std::string& code = spec.start[2];
  code.replace(code.rfind("while True: time.sleep(0.05)\n"), std::string::npos,
               "while True: sys.stdout.write('x' * 65536)\n");
  auto options = options_in(dir);
  options.max_stdout_bytes = 1 << 20;
  auto server = server_process::start(spec, options);
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(server.running());
  const auto size = fs::file_size(dir.path / "stdout.txt");
  EXPECT_GE(size, 1u << 20);
  EXPECT_LT(size, (1u << 20) + 200);
  EXPECT_TRUE(server.stop(5s).clean());
}

}  // namespace
}  // namespace lab
