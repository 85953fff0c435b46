#include "registry.h"

#include <linux/io_uring.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

namespace lab {
namespace fs = std::filesystem;
using json = nlohmann::json;

const std::vector<std::string>& valid_models() {
  static const std::vector<std::string> models = {
      "thread_per_request", "thread_pool",    "event_loop",     "fiber",
      "coroutine",          "goroutine",      "virtual_thread", "multi_process",
      "io_uring",           "async_task"};
  return models;
}

const std::vector<std::string>& valid_languages() {
  static const std::vector<std::string> languages = {"cpp",  "c",    "go",  "javascript",
                                                             "java", "rust", "python"};
  return languages;
}

namespace {

const std::vector<std::string>& known_fields() {
  static const std::vector<std::string> fields = {
      "name",    "model",           "language", "description", "start",    "requires",
      "built_file", "enabled", "disabled_reason", "variants", "reference",
      "not_built_hint", "expected_failures"};
  return fields;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

[[noreturn]] void fail(const fs::path& source, const std::string& field, const std::string& what) {
  std::string prefix = source.string() + ": ";
  if (!field.empty()) prefix += "field '" + field + "': ";
  throw registry_error(prefix + what);
}

std::string type_name(const json& j) { return j.type_name(); }

std::string require_string(const json& j, const char* field, const fs::path& source) {
  if (!j.contains(field)) fail(source, field, "missing (required)");
  const json& v = j.at(field);
  if (!v.is_string()) fail(source, field, "must be a string, got " + type_name(v));
  std::string s = v.get<std::string>();
  if (s.empty()) fail(source, field, "must not be empty");
  return s;
}

std::vector<std::string> string_array(const json& v, const std::string& field,
                                      const fs::path& source) {
  if (!v.is_array()) fail(source, field, "must be an array of strings, got " + type_name(v));
  std::vector<std::string> out;
  for (const auto& item : v) {
    if (!item.is_string())
      fail(source, field, "must be an array of strings, found " + type_name(item));
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::string one_of(const json& j, const char* field, const std::vector<std::string>& choices,
                   const char* noun, const fs::path& source) {
  std::string value = require_string(j, field, source);
  if (std::find(choices.begin(), choices.end(), value) == choices.end())
    fail(source, field, "'" + value + "' is not a " + noun + "; valid: " + join(choices));
  return value;
}

}  // namespace

server_spec parse_server_spec(const json& j, const fs::path& source) {
  if (!j.is_object()) fail(source, "", "must be a JSON object, got " + type_name(j));
  for (const auto& [key, value] : j.items()) {
    (void)value;
    const auto& fields = known_fields();
    if (std::find(fields.begin(), fields.end(), key) == fields.end())
      fail(source, key, "unknown field; valid: " + join(fields));
  }
  server_spec spec;
  spec.source = source;
  spec.name = require_string(j, "name", source);
  static const std::regex name_pattern("[a-z0-9_-]+");
  if (!std::regex_match(spec.name, name_pattern))
    fail(source, "name", "'" + spec.name + "' must match [a-z0-9_-]+");
  spec.model = one_of(j, "model", valid_models(), "model", source);
  spec.language = one_of(j, "language", valid_languages(), "language", source);
  spec.description = require_string(j, "description", source);
  if (!j.contains("start")) fail(source, "start", "missing (required)");
  spec.start = string_array(j.at("start"), "start", source);
  if (spec.start.empty() || spec.start.front().empty())
    fail(source, "start", "must name a program to run (first element)");

  if (j.contains("requires")) {
    const json& reqs = j.at("requires");
    if (!reqs.is_array())
      fail(source, "requires", "must be an array of {\"command\", \"package\"}, got " +
                                   type_name(reqs));
    for (const auto& r : reqs) {
      if (!r.is_object())
        fail(source, "requires", "each entry must be {\"command\": ..., \"package\": ...}");
      if (r.contains("kernel")) {
        if (r.size() != 1 || !r.at("kernel").is_string() || r.at("kernel") != "io_uring")
          fail(source, "requires", "a kernel entry is {\"kernel\": \"io_uring\"} alone");
        requirement kernel_req;
        kernel_req.kernel = "io_uring";
        spec.requirements.push_back(std::move(kernel_req));
        continue;
      }
      for (const auto& [key, value] : r.items()) {
        (void)value;
        if (key != "command" && key != "package")
          fail(source, "requires", "unknown key '" + key + "'; valid: command, package, kernel");
      }
      requirement req;
      if (!r.contains("command") || !r.at("command").is_string() ||
          r.at("command").get<std::string>().empty())
        fail(source, "requires", "each entry needs a non-empty string \"command\"");
      if (!r.contains("package") || !r.at("package").is_string() ||
          r.at("package").get<std::string>().empty())
        fail(source, "requires", "each entry needs a non-empty string \"package\"");
      req.command = r.at("command").get<std::string>();
      req.package = r.at("package").get<std::string>();
      spec.requirements.push_back(std::move(req));
    }
  }
  if (j.contains("built_file")) spec.built_file = require_string(j, "built_file", source);
  if (j.contains("enabled")) {
    if (!j.at("enabled").is_boolean())
      fail(source, "enabled", "must be true or false, got " + type_name(j.at("enabled")));
    spec.enabled = j.at("enabled").get<bool>();
  }
  if (j.contains("disabled_reason"))
    spec.disabled_reason = require_string(j, "disabled_reason", source);
  if (j.contains("reference")) {
    if (!j.at("reference").is_boolean())
      fail(source, "reference", "must be true or false, got " + type_name(j.at("reference")));
    spec.reference = j.at("reference").get<bool>();
  }
  if (j.contains("not_built_hint"))
    spec.not_built_hint = require_string(j, "not_built_hint", source);
  if (j.contains("expected_failures")) {
    if (!spec.reference)
      fail(source, "expected_failures",
           "only a reference server (\"reference\": true) may fail conformance checks");
    // {"check": "what its failure detail must contain"}: a declared failure must fail for the
    // declared reason, or the declaration would excuse any fault of that check.
    const json& declared = j.at("expected_failures");
    if (!declared.is_object())
      fail(source, "expected_failures",
           "must be an object {\"check name\": \"text its failure detail contains\"}, got " +
               type_name(declared));
    for (const auto& [check, reason] : declared.items()) {
      if (!reason.is_string() || reason.get<std::string>().empty())
        fail(source, "expected_failures." + check,
             "must be a non-empty string: the text the check's failure detail contains");
      spec.expected_failures.push_back(check);
      std::string text = reason.get<std::string>();
      constexpr std::string_view intermittent = "intermittent: ";
      if (text.rfind(intermittent, 0) == 0 && text.size() > intermittent.size()) {
        text.erase(0, intermittent.size());
        spec.intermittent_failures.insert(check);
      }
      spec.expected_failure_reasons[check] = text;
    }
  }
  if (j.contains("variants")) {
    const json& variants = j.at("variants");
    if (!variants.is_object())
      fail(source, "variants", "must be an object {\"variant\": [argv...]}, got " +
                                   type_name(variants));
    for (const auto& [variant, argv] : variants.items()) {
      if (!std::regex_match(variant, name_pattern))
        fail(source, "variants", "variant name '" + variant + "' must match [a-z0-9_-]+");
      spec.variants[variant] = string_array(argv, "variants." + variant, source);
    }
  }
  return spec;
}

std::vector<server_spec> load_registry(const fs::path& root) {
  std::vector<fs::path> files;
  for (const fs::path& dir : {root / "servers", root / "servers" / "reference"}) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) continue;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      fs::path candidate = entry.path() / "server.json";
      if (entry.is_directory() && fs::is_regular_file(candidate)) files.push_back(candidate);
    }
  }
  std::sort(files.begin(), files.end());

  std::vector<server_spec> specs;
  std::map<std::string, fs::path> seen;
  for (const auto& file : files) {
    fs::path shown = file.lexically_relative(root);
    if (shown.empty()) shown = file;
    std::ifstream in(file);
    if (!in) throw registry_error(shown.string() + ": cannot be read");
    json j;
    try {
      j = json::parse(in);
    } catch (const json::parse_error& e) {
      throw registry_error(shown.string() + ": invalid JSON: " + e.what());
    }
    server_spec spec = parse_server_spec(j, shown);
    spec.source = file;
    if (auto it = seen.find(spec.name); it != seen.end())
      fail(shown, "name", "'" + spec.name + "' is already used by " + it->second.string() +
                              "; names must be unique");
    seen[spec.name] = shown;
    specs.push_back(std::move(spec));
  }
  std::sort(specs.begin(), specs.end(),
            [](const server_spec& a, const server_spec& b) { return a.name < b.name; });
  return specs;
}

std::vector<server_spec> expand_variants(const std::vector<server_spec>& specs) {
  std::vector<server_spec> out;
  for (const auto& spec : specs) {
    out.push_back(spec);
    for (const auto& [variant, extra] : spec.variants) {
      server_spec v = spec;
      v.name = spec.name + "+" + variant;
      v.start.insert(v.start.end(), extra.begin(), extra.end());
      v.variants.clear();
      out.push_back(std::move(v));
    }
  }
  return out;
}

std::string render_placeholders(const std::string& text, const placeholders& values) {
  const std::pair<std::string, std::string> table[] = {
      {"{port}", std::to_string(values.port)},
      {"{host}", values.host},
      {"{threads}", std::to_string(values.threads)},
      {"{idle_timeout}", std::to_string(values.idle_timeout_s)},
      {"{bin}", values.bin.string()},
      {"{root}", values.root.string()},
      {"{tmp}", values.tmp.string()},
      {"{downstream}", values.downstream},
  };
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    bool replaced = false;
    if (text[i] == '{') {
      for (const auto& [key, value] : table) {
        if (text.compare(i, key.size(), key) == 0) {
          out += value;
          i += key.size();
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += text[i++];
  }
  return out;
}

std::vector<std::string> render_argv(const server_spec& spec, const placeholders& values) {
  std::vector<std::string> argv;
  for (const auto& arg : spec.start) argv.push_back(render_placeholders(arg, values));
  return argv;
}

bool command_on_path(const std::string& command) {
  if (command.find('/') != std::string::npos) return ::access(command.c_str(), X_OK) == 0;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) dir = ".";
    fs::path candidate = fs::path(dir) / command;
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec) && ::access(candidate.c_str(), X_OK) == 0) return true;
  }
  return false;
}

std::optional<std::string> unavailable_reason(const server_spec& spec, const placeholders& values) {
  if (!spec.enabled)
    return "disabled" + (spec.disabled_reason.empty() ? "" : ": " + spec.disabled_reason);
  for (const auto& req : spec.requirements) {
    if (!req.kernel.empty()) {
      if (auto why = io_uring_unavailable_reason()) return "io_uring not available: " + *why;
      continue;
    }
    if (!command_on_path(req.command))
      return "'" + req.command + "' not found: install Debian package " + req.package;
  }
  // The program itself: a path (e.g. {bin}/event_loop) must exist, a bare name be on PATH.
  if (!spec.start.empty()) {
    std::string program = render_placeholders(spec.start.front(), values);
    if (program.find('/') == std::string::npos) {
      if (!command_on_path(program)) return "'" + program + "' not found on PATH";
    } else {
      fs::path file = program;
      if (file.is_relative() && !values.root.empty()) file = values.root / file;
      std::error_code ec;
      if (!fs::exists(file, ec))
        return "not built: " + file.string() + " is missing (run ./lab build)";
    }
  }
  if (!spec.built_file.empty()) {
    fs::path file = render_placeholders(spec.built_file, values);
    if (file.is_relative() && !values.root.empty()) file = values.root / file;
    std::error_code ec;
    if (!fs::exists(file, ec))
      return "not built: " + file.string() + " is missing " +
             (spec.not_built_hint.empty() ? "(run ./lab build)" : "(" + spec.not_built_hint + ")");
  }
  return std::nullopt;
}

std::optional<std::string> io_uring_unavailable_reason(const fs::path& disabled_file) {
  std::ifstream in(disabled_file);
  int disabled = 0;
  if (in >> disabled && disabled != 0)
    return disabled_file.string() + " is " + std::to_string(disabled) +
           " (io_uring disabled by the administrator)";
  // The ring itself: a seccomp filter or container runtime may forbid the system call.
  io_uring_params params{};
  const long fd = ::syscall(__NR_io_uring_setup, 1, &params);
  if (fd < 0) {
    const int error = errno;
    return std::string("io_uring_setup failed: ") + std::strerror(error) +
           (error == ENOSYS ? " (kernel without io_uring)" : "");
  }
  ::close(static_cast<int>(fd));
  return std::nullopt;
}

fs::path default_bin_dir(const fs::path& root) {
  if (const char* bin = std::getenv("LAB_BIN"); bin && *bin) return bin;
  return root / "build" / "release" / "bin";
}

std::vector<std::string> split_name_list(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  for (char c : text + ",") {
    if (c == ',') {
      if (!item.empty()) out.push_back(item);
      item.clear();
    } else if (c != ' ') {
      item += c;
    }
  }
  return out;
}

}  // namespace lab
