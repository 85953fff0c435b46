// lab_harness: the program behind `./lab list`, `./lab verify` and `./lab run`.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <iostream>

#include "context.h"
#include "registry.h"
#include "runner.h"
#include "suite.h"

namespace fs = std::filesystem;

namespace {

// $LAB_ROOT, else the first parent of the working directory holding harness/suites, else the
// repository three levels above this executable (build/<preset>/bin/lab_harness).
fs::path find_root() {
  if (const char* env = std::getenv("LAB_ROOT"); env && *env) return fs::absolute(env);
  for (fs::path p = fs::current_path(); !p.empty(); p = p.parent_path()) {
    if (fs::is_directory(p / "harness" / "suites")) return p;
    if (p == p.root_path()) break;
  }
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) return exe.parent_path().parent_path().parent_path().parent_path();
  return fs::current_path();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Concurrency Lab harness: list, verify and measure every registered server"};
  app.require_subcommand(1);
  const fs::path root = find_root();
  std::string command = "lab_harness";
  for (int i = 1; i < argc; ++i) command += std::string(" ") + argv[i];

  lab::common_options common;
  common.root = root;
  common.bin = lab::default_bin_dir(root);
  std::string servers_text, host = "127.0.0.1";

  app.add_subcommand("list", "Registered servers and whether they can run here");

  auto* verify = app.add_subcommand("verify", "Run the conformance checks against each server");
  verify->add_option("--servers", servers_text, "Comma-separated server names (default: all enabled)");
  verify->add_option("--host", host, "Loopback address to use")->capture_default_str();
  int verify_jobs = lab::default_verify_jobs;
  verify->add_option("--jobs", verify_jobs, "Servers verified at once (a failure is re-checked alone)")
      ->capture_default_str()->check(CLI::Range(1, 16));

  lab::run_options run;
  std::string scenarios_text, server_cpus, client_cpus, resume, out = "results";
  double duration = 0;
  int repetitions = 0, startup_runs = -1;
  unsigned long long seed = 0;
  bool no_plot = false, dry_run = false;
  auto* run_cmd = app.add_subcommand("run", "Verify, then measure every server (wrk, lab_load); write results/<time>-<suite>/");
  run_cmd->add_option("--suite", run.suite, "quick, full, latency, e2e, ..., or a path to a suite .json")->capture_default_str();
  run_cmd->add_option("--servers", servers_text, "Comma-separated server names (default: all enabled)");
  run_cmd->add_option("--scenarios", scenarios_text, "Comma-separated scenario names of the suite");
  auto* duration_opt = run_cmd->add_option("--duration", duration, "Seconds per measurement (overrides the suite)");
  auto* reps_opt = run_cmd->add_option("--repetitions", repetitions, "Repetitions (overrides the suite)");
  auto* startup_opt = run_cmd->add_option("--startup-runs", startup_runs, "Cold starts per server (overrides the suite; 0 skips)");
  run_cmd->add_option("--server-cpus", server_cpus, "CPUs for the servers, e.g. 0 or 0-3 (default: first half)");
  run_cmd->add_option("--client-cpus", client_cpus, "CPUs for the load generators, e.g. 1 (default: second half)");
  auto* seed_opt = run_cmd->add_option("--seed", seed, "Seed of the interleaving order (default: random, recorded)");
  run_cmd->add_option("--resume", resume, "Continue an interrupted run folder without redoing finished measurements");
  auto* out_opt = run_cmd->add_option("--out", out, "Folder for run folders (default: <repo>/results)");
  run_cmd->add_option("--host", host, "Loopback address to use")->capture_default_str();
  std::string hosts_file;
  run_cmd->add_option("--hosts", hosts_file, "Hosts file: server, downstream and load on other hosts (docs/several-machines.md)");
  run_cmd->add_flag("--no-plot", no_plot, "Do not run scripts/plot.py afterwards");
  run_cmd->add_option("--fingerprint-seconds", run.fingerprint_s,
                      "Machine calibration before the run, recorded in its context (0 skips)")
      ->capture_default_str()->check(CLI::Range(0.0, 60.0));
  run_cmd->add_flag("--dry-run", dry_run, "Print the plan and the time estimate, start nothing");
  run_cmd->add_option("--verify-jobs", verify_jobs, "Servers verified at once before measuring (a failure is re-checked alone)")
      ->capture_default_str()->check(CLI::Range(1, 16));

  CLI11_PARSE(app, argc, argv);

  try {
    common.servers = lab::split_name_list(servers_text);
    common.host = host;
    common.verify_jobs = verify_jobs;
    if (app.got_subcommand("list")) return lab::list_command(common);
    if (app.got_subcommand("verify")) return lab::verify_command(common);

    static_cast<lab::common_options&>(run) = common;
    run.scenarios = lab::split_name_list(scenarios_text);
    if (*duration_opt) run.duration_s = duration;
    if (*reps_opt) run.repetitions = repetitions;
    if (*startup_opt) run.startup_runs = startup_runs;
    if (*seed_opt) run.seed = seed;
    run.out = *out_opt ? fs::absolute(out) : root / "results";
    if (!resume.empty()) {
      run.resume = fs::absolute(resume);
      if (*run_cmd->get_option("--suite") || !server_cpus.empty() || !client_cpus.empty() ||
          *duration_opt || *reps_opt || *seed_opt || !scenarios_text.empty() || !servers_text.empty())
        std::cerr << "lab: --resume continues with the suite, servers, CPUs and seed recorded in "
                     "the run folder; other options are ignored\n";
    }
    const int cores = lab::online_cpus();
    if (!server_cpus.empty() || !client_cpus.empty()) {
      auto layout = lab::default_cpu_layout(cores);
      if (!server_cpus.empty()) layout.server_cpus = lab::parse_cpu_list(server_cpus, cores);
      if (!client_cpus.empty()) layout.client_cpus = lab::parse_cpu_list(client_cpus, cores);
      run.layout = layout;
    }
    run.command = command;
    run.plot = !no_plot;
    run.dry_run = dry_run;
    if (!hosts_file.empty()) run.hosts = fs::absolute(hosts_file);
    return lab::run_command(run);
  } catch (const std::exception& e) {
    std::cerr << "lab: error: " << e.what() << "\n";
    return 2;
  }
}
