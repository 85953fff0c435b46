#include "process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/prctl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace lab {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

// Live children, readable from a signal handler: a fixed table of atomics, no locks.
constexpr size_t max_children = 1024;
std::atomic<pid_t> live_children[max_children];

void register_child(pid_t pid) {
  for (auto& slot : live_children) {
    pid_t expected = 0;
    if (slot.compare_exchange_strong(expected, pid)) return;
  }
  // Table full: the child still gets stopped by its owner, just not by the signal handlers.
}

void unregister_child(pid_t pid) {
  for (auto& slot : live_children) {
    pid_t expected = pid;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

void kill_all_children() {
  for (auto& slot : live_children) {
    pid_t pid = slot.load();
    if (pid > 0) ::kill(-pid, SIGKILL);
  }
}

void cleanup_signal_handler(int sig) {
  kill_all_children();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// Resolves a program name like execvp would, but before fork (PATH lookup allocates).
std::string resolve_program(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "";
}

// Has the child exited? Does not reap it (WNOWAIT), so its pid — and process group id — cannot
// be reused while we still signal the group.
bool has_exited(pid_t pid, bool block) {
  siginfo_t info{};
  int flags = WEXITED | WNOWAIT | (block ? 0 : WNOHANG);
  while (::waitid(P_PID, pid, &info, flags) != 0) {
    if (errno != EINTR) return true;  // ECHILD: nothing to wait for
  }
  return info.si_pid == pid;
}

}  // namespace

// Copies a child's stdout from a pipe into its file, keeping the first `cap` bytes, then a
// line saying the rest was dropped; keeps reading until every writer has closed the pipe (the
// child's whole group has exited) or the owner stops it.
class output_pump {
 public:
  output_pump(int pipe_fd, const std::string& path, size_t cap)
      : pipe_fd_(pipe_fd), cap_(cap) {
    file_fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    thread_ = std::thread([this] { run(); });
  }
  ~output_pump() {
    // The child is reaped by now; what it left in the pipe is read for a moment longer
    // (a process outside its group may still hold the pipe: do not wait for it).
    for (int i = 0; i < 20 && !done_.load(); ++i) std::this_thread::sleep_for(10ms);
    stop_.store(true);
    thread_.join();
    ::close(pipe_fd_);
    if (file_fd_ >= 0) ::close(file_fd_);
  }

 private:
  void run() {
    char buffer[65536];
    size_t kept = 0;
    bool noted = false;
    while (!stop_.load()) {
      pollfd p{pipe_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::read(pipe_fd_, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      const size_t keep = std::min(static_cast<size_t>(n), cap_ - kept);
      if (keep > 0 && file_fd_ >= 0) (void)!::write(file_fd_, buffer, keep);
      kept += keep;
      if (kept == cap_ && !noted && file_fd_ >= 0) {
        const std::string note = "\n[lab: output capped at " + std::to_string(cap_) +
                                 " bytes; the rest was dropped]\n";
        (void)!::write(file_fd_, note.data(), note.size());
        noted = true;
      }
    }
    done_.store(true);
  }
  int pipe_fd_, file_fd_ = -1;
  size_t cap_;
  std::atomic<bool> stop_{false}, done_{false};
  std::thread thread_;
};


child_process child_process::spawn(const std::vector<std::string>& argv,
                                   const spawn_options& options) {
  if (argv.empty() || argv.front().empty()) throw std::runtime_error("spawn: empty argv");
  // Everything that allocates happens before fork: the child may only call async-signal-safe
  // functions because the harness is multi-threaded.
  std::string program = resolve_program(argv.front());
  if (program.empty())
    throw std::runtime_error("cannot start '" + argv.front() + "': not found on PATH");
  std::vector<char*> c_argv;
  for (const auto& arg : argv) c_argv.push_back(const_cast<char*>(arg.c_str()));
  c_argv.push_back(nullptr);

  std::vector<std::string> env_strings;
  for (char** e = environ; e && *e; ++e) {
    std::string entry = *e;
    std::string key = entry.substr(0, entry.find('='));
    bool overridden = false;
    for (const auto& [k, v] : options.env) overridden = overridden || k == key;
    if (!overridden) env_strings.push_back(std::move(entry));
  }
  for (const auto& [k, v] : options.env) env_strings.push_back(k + "=" + v);
  std::vector<char*> c_env;
  for (auto& entry : env_strings) c_env.push_back(entry.data());
  c_env.push_back(nullptr);

  cpu_set_t cpus;
  CPU_ZERO(&cpus);
  for (int cpu : options.cpus) CPU_SET(cpu, &cpus);
  const bool pin = !options.cpus.empty();
  const std::string cwd = options.cwd.string();
  const std::string out_path = options.stdout_path.empty() ? "/dev/null" : options.stdout_path.string();
  const std::string err_path = options.stderr_path.empty() ? "/dev/null" : options.stderr_path.string();

  const bool die_with_parent = options.die_with_parent;
  const pid_t parent = ::getpid();

  int report[2];
  if (::pipe2(report, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("spawn: pipe2: ") + std::strerror(errno));
  // Capped stdout: the child writes into a pipe that an output_pump empties into the file.
  int out_pipe[2] = {-1, -1};
  const bool capped = options.max_stdout_bytes > 0 && !options.stdout_path.empty();
  if (capped && ::pipe2(out_pipe, O_CLOEXEC) != 0) {
    int err = errno;
    ::close(report[0]);
    ::close(report[1]);
    throw std::runtime_error(std::string("spawn: pipe2: ") + std::strerror(err));
  }

  pid_t pid = ::fork();
  if (pid < 0) {
    int err = errno;
    ::close(report[0]);
    ::close(report[1]);
    throw std::runtime_error(std::string("spawn: fork: ") + std::strerror(err));
  }
  if (pid == 0) {
    // Child: report the failing step's errno through the pipe and exit.
    auto die = [&](int step) {
      int payload[2] = {step, errno};
      (void)!::write(report[1], payload, sizeof payload);
      ::_exit(127);
    };
    ::close(report[0]);
    if (::setpgid(0, 0) != 0) die(1);
    if (die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);  // the parent died before prctl took effect
    }
    // Default signal dispositions and an empty mask, whatever the harness had.
    ::signal(SIGINT, SIG_DFL);
    ::signal(SIGTERM, SIG_DFL);
    ::signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    if (pin && ::sched_setaffinity(0, sizeof cpus, &cpus) != 0) die(2);
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) die(3);
    int in = ::open("/dev/null", O_RDONLY);
    int out = capped ? out_pipe[1] : ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in < 0 || out < 0 || err < 0) die(4);
    if (::dup2(in, 0) < 0 || ::dup2(out, 1) < 0 || ::dup2(err, 2) < 0) die(4);
    ::execve(program.c_str(), c_argv.data(), c_env.data());
    die(5);
  }
  // Parent. setpgid here too, so the group exists before anyone signals it.
  ::setpgid(pid, pid);
  ::close(report[1]);
  std::shared_ptr<output_pump> pump;
  if (capped) {
    ::close(out_pipe[1]);
    pump = std::make_shared<output_pump>(out_pipe[0], out_path, options.max_stdout_bytes);
  }
  int payload[2] = {0, 0};
  ssize_t n;
  do {
    n = ::read(report[0], payload, sizeof payload);
  } while (n < 0 && errno == EINTR);
  ::close(report[0]);
  if (n > 0) {
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::string step = "start";
    switch (payload[0]) {
      case 1: step = "setpgid"; break;
      case 2: step = "sched_setaffinity"; break;
      case 3: step = "chdir to " + cwd; break;
      case 4: step = "open " + out_path + " / " + err_path; break;
      case 5: step = "exec " + program; break;
    }
    throw std::runtime_error("cannot start '" + argv.front() + "': " + step + " failed: " +
                             std::strerror(payload[1]));
  }
  register_child(pid);
  child_process child;
  child.pid_ = pid;
  child.pump_ = std::move(pump);
  return child;
}

child_process::child_process(child_process&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      status_(std::exchange(other.status_, std::nullopt)),
      pump_(std::move(other.pump_)) {}

child_process& child_process::operator=(child_process&& other) noexcept {
  if (this != &other) {
    stop();
    pump_.reset();
    pid_ = std::exchange(other.pid_, -1);
    status_ = std::exchange(other.status_, std::nullopt);
    pump_ = std::move(other.pump_);
  }
  return *this;
}

child_process::~child_process() {
  stop();
  pump_.reset();  // after the child: it empties the pipe the child wrote into
}

void child_process::reaped(int status) {
  status_ = status;
  unregister_child(pid_);
}

bool child_process::running() { return !exit_status().has_value() && pid_ > 0; }

std::optional<int> child_process::exit_status() {
  if (pid_ <= 0 || status_) return status_;
  if (!has_exited(pid_, false)) return std::nullopt;
  // The leader is gone; take whatever it left in its group with it, then reap.
  ::kill(-pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0) {
    if (errno != EINTR) {
      status = 0;
      break;
    }
  }
  reaped(status);
  return status_;
}

std::string child_process::describe_exit() const {
  if (pid_ <= 0 && !status_) return "not started";
  if (!status_) return "running";
  int s = *status_;
  if (WIFEXITED(s)) return "exited with " + std::to_string(WEXITSTATUS(s));
  if (WIFSIGNALED(s)) {
    const char* name = sigabbrev_np(WTERMSIG(s));
    std::string text = name ? std::string("SIG") + name : "signal " + std::to_string(WTERMSIG(s));
    return "killed by " + text + (WCOREDUMP(s) ? " (core dumped)" : "");
  }
  return "status " + std::to_string(s);
}

std::optional<int> child_process::wait_for(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = 1ms;
  while (true) {
    if (auto status = exit_status()) return status;
    if (pid_ <= 0) return std::nullopt;
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::min<std::chrono::nanoseconds>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::milliseconds(20));
  }
}

bool child_process::stop(std::chrono::milliseconds grace, int signal) {
  if (pid_ <= 0 || status_) return false;
  if (exit_status()) return false;
  ::kill(-pid_, signal);
  if (wait_for(grace)) return true;
  ::kill(-pid_, SIGKILL);
  has_exited(pid_, true);
  exit_status();
  return false;
}

void install_child_cleanup_handlers() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction action {};
    action.sa_handler = cleanup_signal_handler;
    sigemptyset(&action.sa_mask);
    ::sigaction(SIGINT, &action, nullptr);
    ::sigaction(SIGTERM, &action, nullptr);
    ::sigaction(SIGHUP, &action, nullptr);
    std::atexit(kill_all_children);
  });
}

size_t live_child_count() {
  size_t n = 0;
  for (auto& slot : live_children) n += slot.load() > 0;
  return n;
}

namespace {
sockaddr_in loopback_address(const std::string& host, int port) {
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
    throw std::runtime_error("not an IPv4 address: " + host);
  return addr;
}
}  // namespace

int pick_free_port(const std::string& host) {
  sockaddr_in addr = loopback_address(host, 0);
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int err = errno;
    ::close(fd);
    throw std::runtime_error("bind " + host + ":0: " + std::strerror(err));
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool wait_until_accepting(const std::string& host, int port, std::chrono::milliseconds timeout,
                          child_process* child) {
  sockaddr_in addr = loopback_address(host, port);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (child && !child->running()) return false;
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (ok) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
}

std::string tail_file(const fs::path& path, size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  std::streamoff size = in.tellg();
  std::streamoff start = size > static_cast<std::streamoff>(max_bytes) ? size - max_bytes : 0;
  in.seekg(start);
  std::string text(static_cast<size_t>(size - start), '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

}  // namespace lab
