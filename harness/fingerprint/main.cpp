// lab_fingerprint: a few seconds of machine calibration (fingerprint.h), printed as a table or
// as the JSON block lab_harness puts into every run's context.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>

#include "fingerprint.h"

int main(int argc, char** argv) {
  CLI::App app{
      "lab_fingerprint: measure this machine's syscall, context switch, clock read, compute, "
      "memory latency and bandwidth figures (median and min-max of repetitions), pinned to one CPU"};
  lab::fingerprint_options options;
  bool as_json = false;
  std::vector<int> other_cpus;
  app.add_option("--seconds", options.seconds, "Approximate total time budget")
      ->capture_default_str()
      ->check(CLI::Range(0.05, 120.0));
  app.add_option("--repetitions", options.repetitions, "Samples per figure")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_option("--cpu", options.cpu, "CPU every figure is measured on")->capture_default_str();
  app.add_option("--other-cpus", other_cpus, "CPUs also measured (compute and syscall only)")
      ->delimiter(',');
  app.add_flag("--json", as_json, "Print the JSON block instead of a table");
  CLI11_PARSE(app, argc, argv);
  options.other_cpus = other_cpus;
  try {
    const auto fp = lab::run_fingerprint(options);
    if (as_json) {
      std::cout << fp.to_json().dump(2) << "\n";
      return 0;
    }
    std::printf("CPU %d, %d repetitions, %.2f s; clocksource %s\n", fp.cpu, fp.repetitions, fp.wall_s,
                fp.system.at("clocksource").c_str());
    std::printf("%-22s %12s %12s %12s %8s\n", "figure", "median", "min", "max", "spread");
    auto print = [](const std::string& name, const lab::figure_stats& s) {
      std::printf("%-22s %12.3f %12.3f %12.3f %7.1f%%\n", name.c_str(), s.median, s.min, s.max,
                  s.median > 0 ? 100 * (s.max - s.min) / s.median : 0.0);
    };
    for (const auto& [name, s] : fp.figures) print(name, s);
    for (const auto& [cpu, figures] : fp.other_cpus)
      for (const auto& [name, s] : figures) print("cpu" + std::to_string(cpu) + " " + name, s);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "lab_fingerprint: %s\n", e.what());
    return 1;
  }
}
