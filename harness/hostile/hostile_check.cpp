// hostile_check: runs the hostile-input suite against one live server.
//   hostile_check --url http://127.0.0.1:8080 [--only CHECK]... [--pid PID] [--attack-ms 1500]
//                 [--may-starve] [--jvm] [--list]
// One line per check; exit status 0 only if every check passed.
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "hostile.h"
#include "loopback_url.h"

int main(int argc, char** argv) {
  CLI::App app{"Attacks a live server with hostile input (docs/service-contract.md, \"Hostile "
               "input\"): malformed and oversized requests, smuggling, control bytes, garbage, "
               "resets, a 1,000-deep pipeline, an idle-connection flood and slowloris. Each "
               "check needs the server to answer a normal request during (flood, slowloris) "
               "and after the attack. Exits non-zero if any check fails."};
  std::string url;
  std::vector<std::string> only;
  bool list = false, may_starve = false, jvm = false;
  pid_t pid = 0;
  int attack_ms = 1500, slow_clients = 300, flood = 2000;
  app.add_option("--url", url, "the server, e.g. http://127.0.0.1:8080 (loopback only)");
  app.add_option("--only", only, "run only these checks (repeatable)");
  app.add_flag("--list", list, "print the check names and exit");
  app.add_option("--pid", pid,
                 "the server's process (or process group) id: its threads and RSS must come back near "
                 "their baseline after each attack (not judged without it)")
      ->check(CLI::PositiveNumber);
  app.add_option("--attack-ms", attack_ms, "length of the flood and slowloris attacks")
      ->default_val(1500)
      ->check(CLI::Range(200, 600000));
  app.add_option("--slow-clients", slow_clients, "slowloris connections")
      ->default_val(300)
      ->check(CLI::Range(1, 60000));
  app.add_option("--flood", flood, "idle connections of the flood")
      ->default_val(2000)
      ->check(CLI::Range(1, 60000));
  app.add_flag("--may-starve", may_starve,
               "the server has a fixed pool of threads, one per connection: a normal request "
               "not answered during a flood or slowloris is recorded, not a failure");
  app.add_flag("--jvm", jvm, "do not judge RSS (a JVM heap grows in large steps)");
  CLI11_PARSE(app, argc, argv);

  const auto names = lab::hostile_check_names();
  if (list) {
    for (const auto& name : names) std::cout << name << "\n";
    return 0;
  }
  if (url.empty()) {
    std::cerr << "hostile_check: --url is required (see --help)\n";
    return 2;
  }
  lab::hostile_options options;
  std::string error;
  if (!lab::parse_loopback_url(url, options.host, options.port, error)) {
    std::cerr << "hostile_check: " << error << "\n";
    return 2;
  }
  for (const auto& name : only)
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      std::string valid;
      for (const auto& n : names) valid += (valid.empty() ? "" : ", ") + n;
      std::cerr << "hostile_check: unknown check '" << name << "'; valid: " << valid << "\n";
      return 2;
    }
  if (pid > 0) {
    // A process group (a server started by the harness, nginx's workers) or a lone process.
    if (lab::sample_process_group(pid).processes > 0) {
      options.sample = [pid] { return lab::sample_process_group(pid); };
    } else if (lab::sample_process(pid).processes > 0) {
      options.sample = [pid] { return lab::sample_process(pid); };
    } else {
      std::cerr << "hostile_check: --pid " << pid << ": no such process or process group\n";
      return 2;
    }
  }
  options.attack = std::chrono::milliseconds(attack_ms);
  options.slow_clients = slow_clients;
  options.flood_connections = flood;
  options.may_starve = may_starve;
  options.judge_rss = !jvm;

  int failed = 0, run = 0;
  for (const auto& name : names) {
    if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end()) continue;
    auto result = lab::run_hostile_check(name, options);
    ++run;
    std::string detail = result.detail;
    std::replace(detail.begin(), detail.end(), '\n', ' ');
    std::cout << (result.passed ? "PASS" : "FAIL") << "  " << result.name << "  " << detail
              << std::endl;
    failed += !result.passed;
  }
  std::cout << (failed ? "FAILED: " : "OK: ") << run - failed << " of " << run
            << " hostile checks passed against " << options.host << ":" << options.port
            << std::endl;
  return failed ? 1 : 0;
}
