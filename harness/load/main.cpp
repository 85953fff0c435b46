// lab_load: the lab's open-loop HTTP load generator (see README.md).
//   lab_load --url URL --rate R --duration S [...]        open loop at R requests/s
//   lab_load --url URL --connections C --duration S [...] closed loop, like wrk
//   lab_load merge A.json B.json [...] [--json OUT]       combine side-by-side generators
// Exit status: 0 measured, 1 no response at all, 2 bad input.
#include <csignal>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "load_engine.h"
#include "load_options.h"
#include "load_result.h"

namespace {

using namespace lab::load;

constexpr int exit_no_response = 1;
constexpr int exit_bad_input = 2;

// CLI11 errors: help goes to stdout with status 0, anything else is bad input.
int cli_exit(const CLI::App& app, const CLI::ParseError& e) {
  if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
    const_cast<CLI::App&>(app).exit(e);
    return 0;
  }
  std::cerr << "lab_load: " << e.what() << "\n";
  return exit_bad_input;
}

// Opens the output file before the run, so that a bad path fails in a second, not after it.
bool open_output(const std::string& path, std::ofstream& out) {
  if (path.empty()) return true;
  out.open(path, std::ios::trunc);
  if (!out) {
    std::cerr << "lab_load: cannot write --json file '" << path << "'\n";
    return false;
  }
  return true;
}

bool write_output(std::ofstream& out, const std::string& path, const load_result& r) {
  if (path.empty()) return true;
  out << r.to_json_text();
  out.close();
  if (!out) {
    std::cerr << "lab_load: writing '" << path << "' failed\n";
    return false;
  }
  return true;
}

// "no responses: connection refused (2000 connect errors)" and the like.
std::string no_response_message(const load_result& r) {
  std::string cause;
  if (r.errors.connect > 0) {
    cause = r.first_error.empty() ? "connect failed" : r.first_error;
    for (auto& c : cause) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  } else if (r.errors.timeout > 0) {
    cause = "no answer within " + std::to_string(r.timeout_s) + " s";
  } else if (r.errors.read + r.errors.write > 0) {
    cause = "read/write errors";
  } else {
    cause = "no request was sent";
  }
  return "no responses: " + cause + " (" + std::to_string(r.requests) + " requests: connect " +
         std::to_string(r.errors.connect) + ", read " + std::to_string(r.errors.read) +
         ", write " + std::to_string(r.errors.write) + ", timeout " +
         std::to_string(r.errors.timeout) + ")";
}

int run_command(int argc, char** argv) {
  CLI::App app{"lab_load: open-loop HTTP load generator (loopback only)"};
  app.footer("Also: lab_load merge A.json B.json [...] [--json OUT] combines the results of "
             "generators that ran side by side (see harness/load/README.md).");
  raw_load_options raw;
  double rate = 0, duration = 0;
  int connections = 0;
  app.add_option("--url", raw.url, "http://host:port/path[?query] (loopback only)")->required();
  auto* rate_opt = app.add_option("--rate", rate, "open loop: requests per second");
  auto* duration_opt =
      app.add_option("--duration", duration, "measured window, seconds")->required();
  auto* connections_opt = app.add_option(
      "--connections", connections,
      "open loop: connection cap (default 10000); without --rate: closed loop over C connections");
  app.add_option("--arrivals", raw.arrivals, "uniform (default) or exp (Poisson, seeded)");
  app.add_option("--threads", raw.threads, "worker threads (default 1)");
  app.add_option("--timeout", raw.timeout_s, "seconds a request may go unanswered (default 5)");
  app.add_option("--pipeline", raw.pipeline, "requests in flight per connection (only 1)");
  app.add_option("--seed", raw.seed, "seed of the Poisson arrivals (default 1)");
  app.add_option("--json", raw.json_path, "write the result as JSON to this file");
  app.add_option("--warmup", raw.warmup_s, "seconds of load before the measured window");
  app.add_option("--hosts", raw.hosts_file,
                 "a hosts file (docs/several-machines.md): its hosts' addresses may be loaded too");
  app.add_option("--spin-us", raw.spin_us,
                 "open loop: poll instead of sleeping when the next send is due within this "
                 "many microseconds (default 100; 0: always sleep)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli_exit(app, e);
  }
  if (rate_opt->count()) raw.rate = rate;
  if (duration_opt->count()) raw.duration_s = duration;
  if (connections_opt->count()) raw.connections = connections;

  load_options options;
  try {
    options = make_load_options(raw);
  } catch (const std::invalid_argument& e) {
    std::cerr << "lab_load: " << e.what() << "\n";
    return exit_bad_input;
  }
  std::ofstream out;
  if (!open_output(options.json_path, out)) return exit_bad_input;

  const load_result result = run_load(options);
  std::cout << result.summary() << std::flush;
  if (!write_output(out, options.json_path, result)) return exit_bad_input;
  if (result.responses == 0) {
    std::cerr << "lab_load: " << no_response_message(result) << "\n";
    return exit_no_response;
  }
  return 0;
}

int merge_command(int argc, char** argv) {
  CLI::App app{"lab_load merge: combine the results of generators that ran side by side"};
  std::vector<std::string> inputs;
  std::string json_path;
  app.add_option("inputs", inputs, "lab_load --json files")->required()->check(CLI::ExistingFile);
  app.add_option("--json", json_path, "write the merged result as JSON to this file");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli_exit(app, e);
  }
  std::vector<load_result> parts;
  for (const auto& path : inputs) {
    try {
      std::ifstream in(path);
      parts.push_back(load_result::from_json(nlohmann::json::parse(in)));
    } catch (const std::exception& e) {
      std::cerr << "lab_load merge: " << path << ": " << e.what() << "\n";
      return exit_bad_input;
    }
  }
  load_result merged;
  try {
    merged = merge_results(parts);
  } catch (const std::invalid_argument& e) {
    std::cerr << "lab_load merge: " << e.what() << "\n";
    return exit_bad_input;
  }
  std::ofstream out;
  if (!open_output(json_path, out)) return exit_bad_input;
  std::cout << merged.summary() << std::flush;
  return write_output(out, json_path, merged) ? 0 : exit_bad_input;
}

}  // namespace

int main(int argc, char** argv) {
  // A server closing mid-write must be an error count, not the end of the process.
  std::signal(SIGPIPE, SIG_IGN);
  try {
    if (argc >= 2 && std::string(argv[1]) == "merge") return merge_command(argc - 1, argv + 1);
    return run_command(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "lab_load: " << e.what() << "\n";
    return 3;
  }
}
