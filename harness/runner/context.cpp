#include "context.h"

#include "fingerprint.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <array>
#include <boost/version.hpp>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <oneapi/tbb/version.h>
#include <regex>
#include <set>
#include <sstream>
#include <stdexcept>

#ifndef LAB_BUILD_TYPE
#define LAB_BUILD_TYPE "unknown"
#endif

namespace lab {
namespace {

nlohmann::json or_null(const std::optional<std::string>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

std::optional<std::string> first_line_of(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return std::nullopt;
  return line;
}

std::optional<std::string> regex_group(const std::optional<std::string>& text, const std::string& pattern) {
  if (!text) return std::nullopt;
  std::smatch m;
  if (std::regex_search(*text, m, std::regex(pattern)) && m.size() > 1) return m[1].str();
  return std::nullopt;
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

int online_cpus() {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

cpu_layout default_cpu_layout(int cores) {
  cpu_layout layout;
  if (cores <= 1) return {{0}, {0}};
  const int server = cores / 2;
  for (int i = 0; i < cores; ++i) (i < server ? layout.server_cpus : layout.client_cpus).push_back(i);
  return layout;
}

std::vector<int> parse_cpu_list(const std::string& text, int cores) {
  std::set<int> cpus;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    std::smatch m;
    if (!std::regex_match(part, m, std::regex(R"((\d+)(?:-(\d+))?)")))
      throw std::invalid_argument("bad CPU list part '" + part + "' (use e.g. 0, 0-3 or 0,2)");
    int first = std::stoi(m[1]), last = m[2].matched ? std::stoi(m[2]) : first;
    if (last < first) throw std::invalid_argument("bad CPU range '" + part + "'");
    for (int c = first; c <= last; ++c) {
      if (c >= cores)
        throw std::invalid_argument("CPU " + std::to_string(c) + " does not exist (CPUs 0-" +
                                    std::to_string(cores - 1) + ")");
      cpus.insert(c);
    }
  }
  if (cpus.empty()) throw std::invalid_argument("empty CPU list");
  return {cpus.begin(), cpus.end()};
}

std::string format_cpu_list(const std::vector<int>& cpus) {
  std::string out;
  for (int c : cpus) out += (out.empty() ? "" : ",") + std::to_string(c);
  return out;
}

std::optional<std::string> command_output(const std::string& shell_command) {
  const std::string full = "timeout 10 sh -c " + shell_quote(shell_command) + " 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  if (!pipe) return std::nullopt;
  std::string text;
  std::array<char, 512> buffer{};
  while (fgets(buffer.data(), buffer.size(), pipe)) text += buffer.data();
  int status = pclose(pipe);
  if (status == -1 || text.empty()) return std::nullopt;
  // Commands like `wrk -v` exit non-zero after printing their version; keep the text anyway,
  // but not shell failures ("not found").
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) return std::nullopt;
  auto newline = text.find('\n');
  return newline == std::string::npos ? text : text.substr(0, newline);
}

nlohmann::json collect_context(const std::filesystem::path& root, const cpu_layout& layout,
                               const std::string& suite_name, unsigned long long seed,
                               const std::string& command) {
  nlohmann::json ctx;
  std::time_t now = std::time(nullptr);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  ctx["date"] = date;
  utsname u{};
  uname(&u);
  ctx["host"] = u.nodename;
  ctx["kernel"] = u.release;
  std::optional<std::string> os;
  {
    std::ifstream in("/etc/os-release");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("PRETTY_NAME=", 0) == 0) {
        os = line.substr(12);
        std::erase(*os, '"');
      }
    }
  }
  ctx["os"] = or_null(os);
  std::optional<std::string> model;
  {
    std::ifstream in("/proc/cpuinfo");
    std::string line;
    while (!model && std::getline(in, line)) {
      if (line.rfind("model name", 0) == 0) model = line.substr(line.find(':') + 2);
    }
  }
  ctx["cpu_model"] = or_null(model);
  ctx["cores"] = online_cpus();
  ctx["governor"] = or_null(first_line_of("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor"));
  double load[3] = {0, 0, 0};
  if (getloadavg(load, 3) == 3) ctx["load_average_at_start"] = {load[0], load[1], load[2]};
  else ctx["load_average_at_start"] = nullptr;
#if defined(__clang__)
  ctx["compiler"] = std::string("clang++ ") + __clang_version__;
#elif defined(__GNUC__)
  ctx["compiler"] = std::string("g++ ") + __VERSION__;
#else
  ctx["compiler"] = nullptr;
#endif
  ctx["build_type"] = LAB_BUILD_TYPE;
  nlohmann::json runtimes;
  runtimes["go"] = or_null(regex_group(command_output("go version"), R"(go version (go\S+))"));
  runtimes["node"] = or_null(regex_group(command_output("node --version"), R"((v\d+\S*))"));
  runtimes["java"] = or_null(regex_group(command_output("java -version"), R"(version \"([^\"]+)\")"));
  runtimes["wrk"] = or_null(regex_group(command_output("wrk -v"), R"(wrk (?:debian/)?(\d[^ ]*))"));
  runtimes["nginx"] = or_null(regex_group(command_output("nginx -v"), R"(nginx/(\S+))"));
  runtimes["boost"] = std::to_string(BOOST_VERSION / 100000) + "." + std::to_string(BOOST_VERSION / 100 % 1000);
  runtimes["tbb"] = std::to_string(TBB_VERSION_MAJOR) + "." + std::to_string(TBB_VERSION_MINOR);
  ctx["runtimes"] = runtimes;
  const std::string git = "git -C " + shell_quote(root.string());
  auto commit = command_output(git + " rev-parse HEAD");
  if (commit && std::regex_match(*commit, std::regex("[0-9a-f]{40}"))) {
    ctx["git_commit"] = *commit;
    auto status = command_output(git + " status --porcelain --untracked-files=no | head -1; echo end");
    ctx["git_dirty"] = status ? nlohmann::json(*status != "end") : nlohmann::json(nullptr);
  } else {
    ctx["git_commit"] = nullptr;
    ctx["git_dirty"] = nullptr;
  }
  ctx["cpu_layout"] = {{"server_cpus", layout.server_cpus}, {"client_cpus", layout.client_cpus}};
  ctx["suite"] = suite_name;
  ctx["seed"] = seed;
  ctx["command"] = command;
  return ctx;
}

nlohmann::json fingerprint_for_context(const cpu_layout& layout, double seconds) {
  fingerprint_options options;
  options.seconds = seconds;
  options.cpu = layout.server_cpus.empty() ? 0 : layout.server_cpus.front();
  std::set<int> others(layout.client_cpus.begin(), layout.client_cpus.end());
  others.insert(layout.server_cpus.begin(), layout.server_cpus.end());
  others.erase(options.cpu);
  options.other_cpus.assign(others.begin(), others.end());
  try {
    return run_fingerprint(options).to_json();
  } catch (const std::exception& e) {
    return {{"error", e.what()}};
  }
}

}  // namespace lab
