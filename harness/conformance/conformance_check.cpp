// conformance_check: runs the service-contract checks against one live server.
//   conformance_check --url http://127.0.0.1:8080 [--idle-timeout 2] [--exact] [--only name]
//                     [--downstream 127.0.0.1:PORT]
// One line per check; exit status 0 only if every check passed.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "conformance.h"
#include "loopback_url.h"

int main(int argc, char** argv) {
  CLI::App app{"Checks a live server against the lab's service contract "
               "(docs/service-contract.md). Exits non-zero if any check fails."};
  std::string url;
  int idle_timeout = 2;
  bool exact = false;
  std::vector<std::string> only;
  bool list = false;
  std::string downstream;
  app.add_option("--url", url, "the server, e.g. http://127.0.0.1:8080 (loopback only)");
  app.add_option("--idle-timeout", idle_timeout,
                 "the --idle-timeout (seconds) the server was started with")
      ->default_val(2)
      ->check(CLI::Range(1, 600));
  app.add_flag("--exact", exact,
               "also require the C++ servers' exact response bytes (Date masked)");
  app.add_option("--only", only, "run only these checks (repeatable)");
  app.add_flag("--list", list, "print the check names and exit");
  app.add_option("--downstream", downstream,
                 "HOST:PORT of the live downstream the server was started with: runs the "
                 "/gateway checks that read its /stats; without it only gateway_bad_gateway "
                 "runs (it expects the server's downstream to refuse)");
  CLI11_PARSE(app, argc, argv);

  const auto names = lab::conformance_check_names();
  if (list) {
    for (const auto& name : names) std::cout << name << "\n";
    return 0;
  }
  if (url.empty()) {
    std::cerr << "conformance_check: --url is required (see --help)\n";
    return 2;
  }
  lab::conformance_options options;
  std::string error;
  if (!lab::parse_loopback_url(url, options.host, options.port, error)) {
    std::cerr << "conformance_check: " << error << "\n";
    return 2;
  }
  if (!downstream.empty() &&
      !lab::parse_loopback_url("http://" + downstream, options.downstream_host, options.downstream_port, error)) {
    std::cerr << "conformance_check: --downstream: " << error << "\n";
    return 2;
  }
  options.idle_timeout_s = idle_timeout;
  options.exact_cpp_bytes = exact;
  for (const auto& name : only) {
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      std::string valid;
      for (const auto& n : names) valid += (valid.empty() ? "" : ", ") + n;
      std::cerr << "conformance_check: unknown check '" << name << "'; valid: " << valid << "\n";
      return 2;
    }
  }

  int failed = 0, run = 0;
  for (const auto& name : names) {
    if (!only.empty() && std::find(only.begin(), only.end(), name) == only.end()) continue;
    auto result = lab::run_check(name, options);
    ++run;
    const char* verdict = result.skipped ? "SKIP" : result.passed ? "PASS" : "FAIL";
    std::cout << verdict << "  " << result.name;
    if (!result.detail.empty()) {
      std::string detail = result.detail;  // one line per check, whatever the detail holds
      for (size_t at = 0; (at = detail.find('\n', at)) != std::string::npos;) detail.replace(at, 1, "\\n");
      std::cout << "  " << detail;
    }
    std::cout << std::endl;
    failed += !result.passed;
  }
  std::cout << (failed ? "FAILED: " : "OK: ") << run - failed << " of " << run
            << " checks passed against " << options.host << ":" << options.port << std::endl;
  return failed ? 1 : 0;
}
