#include "server_process.h"

#include <sys/wait.h>

#include <fstream>
#include <random>
#include <regex>
#include <sstream>
#include <thread>

namespace lab {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string join_argv(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& arg : argv) out += (out.empty() ? "" : " ") + arg;
  return out;
}

}  // namespace

std::optional<std::string> find_listening_line(const std::string& stdout_text, int port) {
  static const std::regex pattern(R"(^listening on (\S+):([0-9]+)\b.*$)");
  std::istringstream lines(stdout_text);
  std::string line;
  while (std::getline(lines, line)) {
    std::smatch m;
    if (std::regex_match(line, m, pattern) && m[2].str() == std::to_string(port)) return line;
  }
  return std::nullopt;
}

std::string find_sanitizer_report(const std::string& stderr_text) {
  // Markers that start a report; "runtime error:" is UBSan's one-line form.
  static const char* const markers[] = {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                                         "WARNING: ThreadSanitizer", "ERROR: ThreadSanitizer",
                                         "ERROR: UndefinedBehaviorSanitizer", "runtime error:"};
  size_t first = std::string::npos;
  for (const char* marker : markers) first = std::min(first, stderr_text.find(marker));
  if (first == std::string::npos) return "";
  size_t line_start = stderr_text.rfind('\n', first);
  line_start = line_start == std::string::npos ? 0 : line_start + 1;
  return stderr_text.substr(line_start, 1500);
}

std::string server_exit::describe() const {
  std::string out = description;
  if (!exited_in_time) out += " (did not exit within the grace period after the signal)";
  if (!sanitizer_report.empty()) out += "; sanitizer report in stderr:\n" + sanitizer_report;
  return out;
}

server_process server_process::start(const server_spec& spec, const server_start_options& options) {
  if (options.stdout_path.empty() || options.stderr_path.empty())
    throw std::invalid_argument("server_process::start needs stdout and stderr paths");
  std::string last_failure;
  for (int attempt = 1; attempt <= std::max(1, options.attempts); ++attempt) {
    server_process server;
    placeholders values = options.values;
    static std::mt19937 draw{std::random_device{}()};
    values.port = options.command_prefix.empty() ? pick_free_port(values.host)
                                                 : std::uniform_int_distribution<int>(20000, 39999)(draw);
    auto argv = render_argv(spec, values);
    server.command_ = join_argv(argv);
    argv.insert(argv.begin(), options.command_prefix.begin(), options.command_prefix.end());
    server.stdout_path_ = options.stdout_path;
    server.stderr_path_ = options.stderr_path;
    spawn_options so;
    so.cwd = values.root;
    so.cpus = options.cpus;
    so.env = options.env;
    so.stdout_path = options.stdout_path;
    so.max_stdout_bytes = options.max_stdout_bytes;
    so.stderr_path = options.stderr_path;
    try {
      server.child_ = child_process::spawn(argv, so);
    } catch (const std::exception& e) {
      throw server_start_error(spec.name + ": cannot start `" + server.command_ + "`: " + e.what(),
                               false);
    }
    // Ready = our own listening line for this port, then a successful connect.
    const auto deadline = std::chrono::steady_clock::now() + options.ready_timeout;
    bool exited = false;
    while (std::chrono::steady_clock::now() < deadline) {
      if (!server.child_.running()) {
        exited = true;
        break;
      }
      if (auto line = find_listening_line(read_file(options.stdout_path), values.port)) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (wait_until_accepting(values.host, values.port, std::max(left, 1ms), &server.child_)) {
          server.port_ = values.port;
          server.listening_line_ = *line;
          return server;
        }
        exited = !server.child_.running();
        break;
      }
      std::this_thread::sleep_for(1ms);  // cold starts are timed from the spawn: keep the granularity fine
    }
    if (!exited) {
      const bool printed = !read_file(options.stdout_path).empty();
      server.child_.stop(1s);
      throw server_start_error(
          spec.name + ": `" + server.command_ + "` not ready within " +
              std::to_string(options.ready_timeout.count() / 1000) + " s (" +
              (printed ? "no 'listening on " + values.host + ":" + std::to_string(values.port) +
                             "' line in its stdout, or the port did not accept"
                       : "it printed nothing to stdout") +
              ")\n" + server.stderr_tail(800),
          false);
    }
    last_failure = spec.name + ": `" + server.command_ + "` " + server.child_.describe_exit() +
                   " before it was ready (attempt " + std::to_string(attempt) + ")\n" +
                   server.stderr_tail(800);
  }
  throw server_start_error(last_failure, true);
}

std::string server_process::stderr_tail(size_t max_bytes) const {
  std::string tail = tail_file(stderr_path_, max_bytes);
  return "--- " + stderr_path_.string() + " (tail) ---\n" + (tail.empty() ? "(empty)\n" : tail);
}

server_exit server_process::stop(std::chrono::milliseconds grace, int signal) {
  server_exit out;
  if (child_.pid() <= 0) {
    out.description = "not started";
    return out;
  }
  const bool was_running = child_.running();
  out.exited_in_time = was_running ? child_.stop(grace, signal) : true;
  out.description = child_.describe_exit();
  if (!was_running) out.description = "had already " + out.description;
  if (auto status = child_.exit_status(); status && WIFEXITED(*status))
    out.exit_code = WEXITSTATUS(*status);
  out.sanitizer_report = find_sanitizer_report(read_file(stderr_path_));
  return out;
}

}  // namespace lab
