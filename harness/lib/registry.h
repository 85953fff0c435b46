// Registry: finds every server.json (servers/*/server.json, servers/reference/*/server.json),
// validates it against docs/server-json.md and renders its start command.
// Errors name the file, the field and the valid choices. Pure functions; thread-compatible.
#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lab {

// An executable that must be on PATH and the Debian package that provides it, or (kernel not
// empty) a kernel facility the server needs: "io_uring".
struct requirement {
  std::string command, package;
  std::string kernel;
};

struct server_spec {
  std::string name, model, language, description;
  std::vector<std::string> start;          // argv with placeholders, run from the repo root
  std::vector<requirement> requirements;   // server.json "requires"
  std::string built_file;                  // with placeholders; empty if none
  bool enabled = true;
  std::string disabled_reason;
  bool reference = false;
  std::string not_built_hint;              // why built_file may legitimately be missing
  std::vector<std::string> expected_failures;  // conformance checks a partial reference server fails
  // check -> text its failure detail must contain (server.json "expected_failures")
  std::map<std::string, std::string> expected_failure_reasons;
  // Declared failures whose reason starts "intermittent: " (prefix stripped above): the runtime
  // fails them only when its timing falls one way, so passing is no news.
  std::set<std::string> intermittent_failures;
  std::map<std::string, std::vector<std::string>> variants;  // extra argv per variant
  std::filesystem::path source;            // the server.json it came from
};

struct registry_error : std::runtime_error {
  using runtime_error::runtime_error;
};

// The valid values of "model" and "language", in documentation order.
const std::vector<std::string>& valid_models();
const std::vector<std::string>& valid_languages();

// Globs and validates every server.json under root, sorted by name. Throws registry_error
// (message names the file relative to root, the field and the valid choices); unknown fields
// and duplicate names are errors.
std::vector<server_spec> load_registry(const std::filesystem::path& root);

// Validates one parsed server.json; `source` is only used in messages and stored in the spec.
server_spec parse_server_spec(const nlohmann::json& j, const std::filesystem::path& source);

// Returns the specs followed, after each one, by an entry "name+variant" per variant whose
// start is the base start plus the variant's argv (and whose variants map is empty).
std::vector<server_spec> expand_variants(const std::vector<server_spec>& specs);

struct placeholders {
  std::string host = "127.0.0.1";
  int port = 0;
  int threads = 1;
  int idle_timeout_s = 30;
  std::filesystem::path bin, root, tmp;
  // The downstream service's HOST:PORT for /gateway. Where none is started, an address where
  // nothing listens (the discard port), so /gateway answers 502 and every other endpoint works.
  std::string downstream = "127.0.0.1:9";
};

// Replaces {port} {host} {threads} {idle_timeout} {bin} {root} {tmp} {downstream} in one string
// / in start.
std::string render_placeholders(const std::string& text, const placeholders& values);
std::vector<std::string> render_argv(const server_spec& spec, const placeholders& values);

// Why the server cannot run here, or nullopt: disabled, a required command missing from PATH
// ("'go' not found: install Debian package golang-go"), a kernel facility forbidden ("io_uring
// not available: …"), or built_file missing ("not built: …").
std::optional<std::string> unavailable_reason(const server_spec& spec, const placeholders& values);

// Why this kernel forbids io_uring, or nullopt: `disabled_file` (normally
// /proc/sys/kernel/io_uring_disabled) holds a value other than 0, or creating a ring fails
// (EPERM under a seccomp filter, ENOSYS on an old kernel).
std::optional<std::string> io_uring_unavailable_reason(
    const std::filesystem::path& disabled_file = "/proc/sys/kernel/io_uring_disabled");

// True if `command` is an executable on PATH (or an executable path if it contains '/').
bool command_on_path(const std::string& command);

// $LAB_BIN if set, else root/build/release/bin.
std::filesystem::path default_bin_dir(const std::filesystem::path& root);

// "a, b,,c" -> {"a", "b", "c"}: a command line's comma-separated names (--servers, --scenarios),
// spaces and empty items dropped.
std::vector<std::string> split_name_list(const std::string& text);

}  // namespace lab
