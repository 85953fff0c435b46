#include "noise.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <regex>
#include <sstream>

namespace lab {

namespace {
double round4(double v) { return std::round(v * 10000) / 10000; }
}  // namespace

nlohmann::json machine_usage::to_json() const {
  return {{"cpus", cpus},
          {"cpu_busy_s", round4(busy_s)},
          {"steal_s", round4(steal_s)},
          {"steal_fraction", round4(steal_fraction())},
          {"foreign_cpu_s", round4(foreign_s())},
          {"foreign_fraction", round4(foreign_fraction())},
          {"harness_cpu_s", round4(harness_s)}};
}

machine_usage machine_usage_between(const system_cpu_times& before, const system_cpu_times& after,
                                    double wall_s, double accounted_s, double harness_s) {
  machine_usage u;
  u.wall_s = wall_s;
  u.cpus = std::max(1, after.cpus);
  u.busy_s = std::max(0.0, after.busy_s - before.busy_s);
  u.steal_s = std::max(0.0, after.steal_s - before.steal_s);
  u.accounted_s = accounted_s;
  u.harness_s = harness_s;
  return u;
}

nlohmann::json gc_pauses::to_json() const {
  return {{"runtime", runtime},
          {"pauses", count},
          {"pause_total_ms", std::round(total_ms * 1000) / 1000},
          {"pause_max_ms", std::round(max_ms * 1000) / 1000}};
}

gc_pauses parse_gc_log(const std::string& runtime, const std::string& text) {
  static const std::regex go_line(R"(^gc \d+ @[0-9.]+s \d+%: ([0-9.]+)\+[0-9.]+\+([0-9.]+) ms clock)");
  static const std::regex java_line(R"(\[gc\s*\].* Pause .* ([0-9.]+)ms\s*$)");
  static const std::regex node_line(R"(\d+ ms: [A-Z][^,]* MB, ([0-9.]+) / [0-9.]+ ms)");
  gc_pauses out;
  out.runtime = runtime;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    double pause_ms = -1;
    if (runtime == "go" && std::regex_search(line, m, go_line))
      pause_ms = std::stod(m[1]) + std::stod(m[2]);
    else if (runtime == "java" && std::regex_search(line, m, java_line))
      pause_ms = std::stod(m[1]);
    else if (runtime == "node" && std::regex_search(line, m, node_line))
      pause_ms = std::stod(m[1]);
    if (pause_ms < 0) continue;
    ++out.count;
    out.total_ms += pause_ms;
    out.max_ms = std::max(out.max_ms, pause_ms);
  }
  return out;
}

std::optional<std::string> gc_runtime_of_language(const std::string& language) {
  if (language == "go") return "go";
  if (language == "java") return "java";
  if (language == "javascript") return "node";
  return std::nullopt;
}

log_window::log_window(std::filesystem::path path) : path_(std::move(path)) {
  std::error_code ec;
  start_ = std::filesystem::file_size(path_, ec);
  if (ec) start_ = 0;
}

std::string log_window::text_since() const {
  std::ifstream in(path_, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  const auto end = static_cast<uintmax_t>(in.tellg());
  if (end <= start_) return "";
  in.seekg(static_cast<std::streamoff>(start_));
  std::string text(end - start_, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

namespace {
std::filesystem::path stdout_beside(std::filesystem::path stderr_path) {
  return stderr_path.replace_extension(".stdout");
}
}  // namespace

measurement_noise_probe::measurement_noise_probe(const std::filesystem::path& stderr_path)
    : own_cpu_before_s_(own_cpu_s()),
      start_(std::chrono::steady_clock::now()),
      stdout_(stdout_beside(stderr_path)),
      stderr_(stderr_path) {
  try {
    before_ = read_system_cpu();
  } catch (const std::exception&) {
    // No /proc/stat (not Linux, or a sandbox): the measurement goes without a machine block.
  }
}

std::optional<machine_usage> measurement_noise_probe::machine(double accounted_s) const {
  if (!before_) return std::nullopt;
  system_cpu_times after;
  try {
    after = read_system_cpu();
  } catch (const std::exception&) {
    return std::nullopt;
  }
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double harness_s = std::max(0.0, own_cpu_s() - own_cpu_before_s_);
  return machine_usage_between(*before_, after, wall_s, accounted_s + harness_s, harness_s);
}

std::optional<gc_pauses> measurement_noise_probe::gc_pauses_of(const std::string& language,
                                                               const std::string& command) const {
  const auto runtime = gc_runtime_of_language(language);
  if (!runtime) return std::nullopt;
  const bool logging = command.find("gctrace=1") != std::string::npos ||
                       command.find("-Xlog:gc") != std::string::npos ||
                       command.find("--trace-gc") != std::string::npos;
  if (!logging) return std::nullopt;
  return parse_gc_log(*runtime, stdout_.text_since() + "\n" + stderr_.text_since());
}

}  // namespace lab
