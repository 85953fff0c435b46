#include "process.h"

#include <signal.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

namespace lab {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

fs::path scratch_dir() {
  char pattern[] = "/tmp/lab-process-test-XXXXXX";
  return ::mkdtemp(pattern);
}

bool pid_alive(pid_t pid) { return ::kill(pid, 0) == 0; }

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

TEST(process, spawn_sleep_then_stop_reaps_it) {
  auto child = child_process::spawn({"sleep", "30"}, {});
  pid_t pid = child.pid();
  ASSERT_GT(pid, 0);
  EXPECT_TRUE(child.running());
  EXPECT_EQ(::getpgid(pid), pid) << "the child leads its own process group";
  EXPECT_EQ(live_child_count(), 1u);
  child.stop(2s);
  EXPECT_FALSE(child.running());
  ASSERT_TRUE(child.exit_status().has_value());
  EXPECT_EQ(child.describe_exit(), "killed by SIGTERM");
  // Reaped: the pid is no longer our child (not even a zombie).
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
  EXPECT_EQ(live_child_count(), 0u);
}

TEST(process, exec_failure_is_reported_with_errno) {
  try {
    child_process::spawn({"/nonexistent/program", "x"}, {});
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    std::string message = e.what();
    EXPECT_NE(message.find("cannot start '/nonexistent/program'"), std::string::npos) << message;
    EXPECT_NE(message.find("No such file or directory"), std::string::npos) << message;
  }
  try {
    child_process::spawn({"no-such-program-xyz"}, {});
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("not found on PATH"), std::string::npos) << e.what();
  }
  // A file that exists but cannot be executed: errno comes back through the pipe.
  fs::path dir = scratch_dir();
  std::ofstream(dir / "not_executable") << "hello";
  try {
    child_process::spawn({(dir / "not_executable").string()}, {});
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("Permission denied"), std::string::npos) << e.what();
  }
  try {
    spawn_options options;
    options.cwd = dir / "missing";
    child_process::spawn({"true"}, options);
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("chdir"), std::string::npos) << e.what();
  }
  EXPECT_EQ(live_child_count(), 0u);
  fs::remove_all(dir);
}

TEST(process, exit_descriptions) {
  auto ok = child_process::spawn({"sh", "-c", "exit 0"}, {});
  ASSERT_TRUE(ok.wait_for(5s).has_value());
  EXPECT_EQ(ok.describe_exit(), "exited with 0");

  auto one = child_process::spawn({"sh", "-c", "exit 1"}, {});
  ASSERT_TRUE(one.wait_for(5s).has_value());
  EXPECT_EQ(one.describe_exit(), "exited with 1");
  EXPECT_TRUE(WIFEXITED(*one.exit_status()));

  auto segv = child_process::spawn({"sh", "-c", "kill -SEGV $$"}, {});
  ASSERT_TRUE(segv.wait_for(5s).has_value());
  EXPECT_EQ(segv.describe_exit().rfind("killed by SIGSEGV", 0), 0u) << segv.describe_exit();

  auto still = child_process::spawn({"sleep", "30"}, {});
  EXPECT_FALSE(still.wait_for(50ms).has_value());
  EXPECT_EQ(still.describe_exit(), "running");
}

TEST(process, stop_kills_the_group_including_grandchildren) {
  fs::path dir = scratch_dir();
  // The shell starts a grandchild that ignores SIGTERM, records its pid, and waits.
  auto child = child_process::spawn(
      {"sh", "-c", "trap '' TERM; sleep 60 & echo $! > " + (dir / "grandchild").string() + "; wait"},
      {});
  pid_t grandchild = 0;
  for (int i = 0; i < 200 && grandchild == 0; ++i) {
    std::this_thread::sleep_for(10ms);
    std::string text = read_file(dir / "grandchild");
    if (!text.empty() && text.back() == '\n') grandchild = std::stoi(text);
  }
  ASSERT_GT(grandchild, 0);
  EXPECT_TRUE(pid_alive(grandchild));
  EXPECT_EQ(::getpgid(grandchild), child.pid());
  auto start = std::chrono::steady_clock::now();
  child.stop(300ms);  // SIGTERM is ignored: it must escalate to SIGKILL
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_FALSE(child.running());
  EXPECT_EQ(child.describe_exit(), "killed by SIGKILL");
  // The grandchild (re-parented to init, which reaps it) disappears.
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = !pid_alive(grandchild) || read_file("/proc/" + std::to_string(grandchild) + "/stat")
                                             .find(") Z") != std::string::npos;
    if (!gone) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(gone) << "grandchild " << grandchild << " survived";
  fs::remove_all(dir);
}

TEST(process, leader_exit_takes_the_group_with_it) {
  fs::path dir = scratch_dir();
  auto child = child_process::spawn(
      {"sh", "-c", "sleep 60 & echo $! > " + (dir / "grandchild").string() + "; exit 3"}, {});
  ASSERT_TRUE(child.wait_for(5s).has_value());
  EXPECT_EQ(child.describe_exit(), "exited with 3");
  pid_t grandchild = std::stoi(read_file(dir / "grandchild"));
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = !pid_alive(grandchild) || read_file("/proc/" + std::to_string(grandchild) + "/stat")
                                             .find(") Z") != std::string::npos;
    if (!gone) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(gone);
  fs::remove_all(dir);
}

TEST(process, destructor_and_move_stop_the_child) {
  pid_t pid;
  {
    auto child = child_process::spawn({"sleep", "30"}, {});
    child_process moved = std::move(child);
    EXPECT_EQ(child.pid(), -1);
    pid = moved.pid();
    EXPECT_TRUE(pid_alive(pid));
  }
  EXPECT_FALSE(pid_alive(pid));
  EXPECT_EQ(live_child_count(), 0u);
}

TEST(process, output_cwd_env_and_affinity) {
  fs::path dir = scratch_dir();
  spawn_options options;
  options.cwd = dir;
  options.stdout_path = dir / "out.txt";
  options.stderr_path = dir / "err.txt";
  options.env = {{"LAB_PROCESS_TEST", "hello"}};
  options.cpus = {0};
  auto child = child_process::spawn(
      {"sh", "-c", "echo $LAB_PROCESS_TEST; pwd; echo oops >&2; grep Cpus_allowed_list /proc/self/status"},
      options);
  ASSERT_TRUE(child.wait_for(5s).has_value());
  EXPECT_EQ(child.describe_exit(), "exited with 0");
  std::string out = read_file(dir / "out.txt");
  EXPECT_NE(out.find("hello\n" + fs::canonical(dir).string() + "\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Cpus_allowed_list:\t0\n"), std::string::npos) << out;
  EXPECT_EQ(read_file(dir / "err.txt"), "oops\n");
  EXPECT_EQ(tail_file(dir / "err.txt"), "oops\n");
  EXPECT_EQ(tail_file(dir / "out.txt", 3), out.substr(out.size() - 3));
  EXPECT_EQ(tail_file(dir / "missing.txt"), "");
  fs::remove_all(dir);
}

TEST(process, free_port_and_wait_until_accepting) {
  int port = pick_free_port();
  EXPECT_GT(port, 0);
  EXPECT_FALSE(wait_until_accepting("127.0.0.1", port, 100ms, nullptr));

  // A listener that appears later.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  std::thread later([&] {
    std::this_thread::sleep_for(100ms);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ::listen(fd, 16);
  });
  EXPECT_TRUE(wait_until_accepting("127.0.0.1", port, 5s, nullptr));
  later.join();
  ::close(fd);

  // A child that dies is noticed long before the timeout.
  auto child = child_process::spawn({"sh", "-c", "exit 2"}, {});
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(wait_until_accepting("127.0.0.1", pick_free_port(), 10s, &child));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(child.describe_exit(), "exited with 2");
}

TEST(process, cleanup_handler_kills_children_when_the_parent_is_killed) {
  fs::path dir = scratch_dir();
  fs::path pid_file = dir / "child";
  // A forked copy of this test process installs the handlers, starts a child and waits to
  // be terminated; SIGTERM must take its child down too.
  pid_t harness = ::fork();
  ASSERT_GE(harness, 0);
  if (harness == 0) {
    install_child_cleanup_handlers();
    spawn_options options;
    options.die_with_parent = false;  // test the handler alone
    auto child = child_process::spawn({"sleep", "60"}, options);
    std::ofstream(pid_file) << child.pid() << "\n";
    ::pause();
    ::_exit(0);
  }
  pid_t child = 0;
  for (int i = 0; i < 300 && child == 0; ++i) {
    std::this_thread::sleep_for(10ms);
    std::string text = read_file(pid_file);
    if (!text.empty() && text.back() == '\n') child = std::stoi(text);
  }
  ASSERT_GT(child, 0);
  EXPECT_TRUE(pid_alive(child));
  ::kill(harness, SIGTERM);
  int status = 0;
  ASSERT_EQ(::waitpid(harness, &status, 0), harness);
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM) << "re-raised SIGTERM";
  bool gone = false;
  for (int i = 0; i < 300 && !gone; ++i) {
    gone = !pid_alive(child) ||
           read_file("/proc/" + std::to_string(child) + "/stat").find(") Z") != std::string::npos;
    if (!gone) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(gone) << "child " << child << " of the killed harness survived";
  fs::remove_all(dir);
}

TEST(process, child_dies_with_a_sigkilled_parent) {
  fs::path dir = scratch_dir();
  fs::path pid_file = dir / "child";
  pid_t harness = ::fork();
  ASSERT_GE(harness, 0);
  if (harness == 0) {
    auto child = child_process::spawn({"sleep", "60"}, {});
    std::ofstream(pid_file) << child.pid() << "\n";
    ::pause();
    ::_exit(0);
  }
  pid_t child = 0;
  for (int i = 0; i < 300 && child == 0; ++i) {
    std::this_thread::sleep_for(10ms);
    std::string text = read_file(pid_file);
    if (!text.empty() && text.back() == '\n') child = std::stoi(text);
  }
  ASSERT_GT(child, 0);
  ::kill(harness, SIGKILL);  // no handler can run: only PR_SET_PDEATHSIG saves the day
  ::waitpid(harness, nullptr, 0);
  bool gone = false;
  for (int i = 0; i < 300 && !gone; ++i) {
    gone = !pid_alive(child) ||
           read_file("/proc/" + std::to_string(child) + "/stat").find(") Z") != std::string::npos;
    if (!gone) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(gone) << "child " << child << " of the SIGKILLed harness survived";
  if (!gone) ::kill(child, SIGKILL);
  fs::remove_all(dir);
}

// A child that floods its stdout: the file keeps the first max_stdout_bytes and a note, the
// child is never blocked by a full pipe, and its exit is seen as usual.
TEST(process, capped_stdout_keeps_the_head_and_never_blocks_the_child) {
  char pattern[] = "/tmp/lab-process-cap-XXXXXX";
  const fs::path dir = ::mkdtemp(pattern);
  spawn_options options;
  options.stdout_path = dir / "out.txt";
  options.max_stdout_bytes = 100000;
  auto child = child_process::spawn(
      {"sh", "-c", "echo first line; head -c 20000000 /dev/zero | tr '\\0' x; echo; exit 3"},
      options);
  auto status = child.wait_for(20s);
  ASSERT_TRUE(status.has_value()) << "a child flooding a capped stdout was blocked";
  EXPECT_EQ(child.describe_exit(), "exited with 3");
  child = child_process();  // the pump finishes with the child
  const std::string text = tail_file(options.stdout_path, 1000000);
  EXPECT_EQ(text.rfind("first line\n", 0), 0u);
  EXPECT_NE(text.find("[lab: output capped at 100000 bytes; the rest was dropped]"), std::string::npos);
  EXPECT_LT(text.size(), 100200u);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace lab
