// One block of the run protocol: one start of one server for one repetition. Start it (pinned
// to the server CPUs) and prime it (/plaintext, 8 connections); then per scenario: its capacity
// probe if its rates are fractions of one and none is recorded yet (a closed-loop wrk run that
// also warms it up), otherwise a warm-up at its highest level; each level ascending with the
// scenario's load generator while the server's process group is sampled and the canary
// watches; in repetition 0, the capacity search of a scenario with an SLO after its sweep;
// finally stop it. A scenario with a downstream (downstream.h) gets a fresh one, on the client
// CPUs, started before the server and named by {downstream}; a scenario whose downstream differs
// from the running server's restarts both; its measurements record the downstream's CPU and
// /stats deltas. A server that dies is recorded and restarted (with its primer) for the next
// measurement. Every result goes to the run_document as it comes. Not thread-safe.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "launch.h"
#include "load_generator.h"
#include "measurement.h"
#include "plan.h"
#include "proc_sampler.h"
#include "progress.h"
#include "results.h"
#include "suite.h"

namespace lab {

inline constexpr int measure_idle_timeout_s = 30;

// Samples a process group between start() and stop() somewhere else than here.
struct usage_sampler {
  virtual ~usage_sampler() = default;
  virtual void start() = 0;
  virtual std::vector<timed_sample> stop() = 0;
};

struct block_settings {
  const suite* run_suite = nullptr;
  launch_settings launch;             // host, bin, root, server CPUs, logs, tmp
  std::vector<int> client_cpus;
  load_generator* wrk = nullptr;      // closed loop, primer, warm-ups, capacity probes
  load_generator* lab_load = nullptr; // open loop (and closed-loop scenarios that ask for it)
  // --hosts: a sampler of a process (the server, the downstream) on its own host
  // (harness/hosts/remote_sampler.h), or null for one of this machine; unset: group_sampler.
  std::function<std::unique_ptr<usage_sampler>(server_process&)> remote_sampler;
};

// The request a scenario's level makes (pure; tests check it).
load_request request_for(const block_settings& settings, const scenario& sc,
                         const measurement_key& key, int port, double duration_s,
                         const std::string& log_stem);

// logs/<stem> of a measurement: server-scenario-c16-r0, server-scenario-rate5000-r0.
std::string log_stem_of(const measurement_key& key);

class block_runner {
 public:
  block_runner(block_settings settings, run_document& doc, progress& progress)
      : settings_(std::move(settings)), doc_(doc), progress_(progress) {}

  // Runs what is left of `block` and returns the number of failures it recorded.
  int run(const server_spec& spec, planned_block block);

 private:
  class session;
  block_settings settings_;
  run_document& doc_;
  progress& progress_;
  int starts_ = 0;  // numbers the log files of successive starts
};

}  // namespace lab
