// The run's context block (docs/results-schema.md): machine, toolchain, runtimes, git state and
// CPU layout, so a reader can tell whether two runs are comparable. Unknown values are null,
// never guessed. Also CPU-list parsing for --server-cpus/--client-cpus. Thread-compatible.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace lab {

struct cpu_layout {
  std::vector<int> server_cpus, client_cpus;
};

// Online CPU count (at least 1).
int online_cpus();

// Server on the first half of the CPUs, wrk on the rest ("0" / "1" on 2 cores); one CPU: both
// share CPU 0.
cpu_layout default_cpu_layout(int cores);

// "0", "0-3", "0,2,4-5" → sorted unique list. Throws std::invalid_argument naming the bad
// part or a CPU outside [0, cores).
std::vector<int> parse_cpu_list(const std::string& text, int cores);
std::string format_cpu_list(const std::vector<int>& cpus);

// First line of a command's combined stdout+stderr (run via /bin/sh with a 10 s timeout), or
// nullopt if it fails to run.
std::optional<std::string> command_output(const std::string& shell_command);

// Everything in the context block; `command` is the harness's command line.
nlohmann::json collect_context(const std::filesystem::path& root, const cpu_layout& layout,
                               const std::string& suite_name, unsigned long long seed,
                               const std::string& command);

// The machine fingerprint (harness/fingerprint) for the context block: every figure pinned to
// the first server CPU (where the server under test runs), compute and syscall also on each
// other CPU of the layout; about `seconds` long. A failure is recorded, not thrown:
// {"error": "..."}.
nlohmann::json fingerprint_for_context(const cpu_layout& layout, double seconds);

}  // namespace lab
