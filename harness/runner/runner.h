// The commands behind `lab_harness list|verify|run` and the orchestration of a run: select
// servers from the registry, plan (plan.h), verify each one before measuring it (verify.h),
// then run the blocks — per repetition and per server, in a seeded random order — (block.h),
// then cold starts (startup.h); results.json is rewritten atomically after every result
// (results.h), summary.md and the charts (scripts/plot.py) come last. `run --dry-run` prints
// the plan and the estimate and starts nothing. Single-threaded use only.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "context.h"
#include "plan.h"
#include "registry.h"
#include "results.h"
#include "suite.h"

namespace lab {

// Options shared by every subcommand.
struct common_options {
  std::filesystem::path root;  // repository root
  std::filesystem::path bin;   // {bin}
  std::string host = "127.0.0.1";
  std::vector<std::string> servers;  // empty: every enabled server
  int verify_jobs = default_verify_jobs;  // verifications at once (verify.h)
};

struct run_options : common_options {
  std::string suite = "quick";  // name or path
  std::vector<std::string> scenarios;
  std::optional<double> duration_s;
  std::optional<int> repetitions;
  std::optional<int> startup_runs;
  std::optional<cpu_layout> layout;           // default: default_cpu_layout(online_cpus())
  std::optional<unsigned long long> seed;     // default: random, recorded
  std::filesystem::path out = "results";
  std::filesystem::path resume;               // a run folder to continue
  std::string command;                        // the command line, for the context block
  bool plot = true;
  bool dry_run = false;                       // print the plan and the estimate, start nothing
  double fingerprint_s = 3;  // machine calibration before a new run (context.fingerprint); 0 skips
  std::filesystem::path hosts;  // --hosts FILE: roles on other hosts (harness/hosts); empty: here
};

int list_command(const common_options& options);
int verify_command(const common_options& options);
int run_command(const run_options& options);

// The suite after the command line's overrides (--scenarios, --duration, --repetitions,
// --startup-runs). Throws std::invalid_argument / suite_error naming the bad option.
suite suite_for_run(const run_options& options);

// What --dry-run prints: per scenario its load and levels, then the arithmetic of the estimate.
std::string describe_plan(const suite& s, size_t servers, const std::vector<planned_block>& blocks,
                          size_t servers_to_verify, size_t servers_to_cold_start, int verify_jobs);

}  // namespace lab
