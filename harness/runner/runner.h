// The run protocol behind `lab_harness run|verify|list`: select servers from the registry,
// verify each one (conformance) before measuring it, then per repetition and per server — in a
// seeded random order — start it pinned to the server CPUs, prime, warm up each scenario at its
// highest level, measure every level with wrk pinned to the client CPUs while sampling the
// server's process group, and stop it; finally cold-start each server N times. results.json is
// rewritten atomically after every measurement. Single-threaded use only.
#pragma once

#include <filesystem>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "context.h"
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
};

int list_command(const common_options& options);
int verify_command(const common_options& options);
int run_command(const run_options& options);

// --- pieces with no side effects (unit-tested) ---

// Loopback only: 127.0.0.0/8, ::1, localhost.
bool is_loopback_host(const std::string& host);

// The named servers (in the given order), or every enabled one except variants
// ("name+variant", which run only when named); an unknown name throws
// registry_error listing the valid names.
std::vector<server_spec> select_servers(const std::vector<server_spec>& all,
                                        const std::vector<std::string>& names);

// One server start: every measurement of one repetition of one server.
struct planned_block {
  int repetition = 0;
  std::string server;
  std::vector<measurement_key> measurements;  // suite order, levels ascending
};

// Repetitions in order; within each, servers in an order shuffled by a generator seeded with
// `seed` (the same seed gives the same plan).
std::vector<planned_block> plan_run(const suite& s, const std::vector<std::string>& servers,
                                    unsigned long long seed);

// The plan minus finished measurements; blocks left empty are dropped.
std::vector<planned_block> remaining_blocks(const std::vector<planned_block>& plan,
                                            const std::set<measurement_key>& finished);

// Nominal seconds for the remaining work (what the estimate before starting prints).
double estimate_seconds(const suite& s, const std::vector<planned_block>& blocks,
                        size_t servers_to_verify, size_t servers_to_cold_start);

}  // namespace lab
