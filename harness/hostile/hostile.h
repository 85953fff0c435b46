// The hostile-input suite: checks, one per category of attack, that any live server on a
// loopback host:port survives what a hostile or broken client sends (malformed request lines,
// smuggling attempts, control bytes, oversized and endless headers, garbage, resets,
// 1,000-deep pipelines, idle-connection floods, slowloris). Every check:
//   1. takes a resource baseline (if options.sample is set) and asks GET /plaintext;
//   2. runs its attack, judging each hostile input's answer (rules in
//      docs/service-contract.md, "Hostile input");
//   3. for the timed attacks (flood, slowloris), asks GET /plaintext on a new connection
//      DURING the attack, within options.during_limit, and records what happened: a server
//      whose model may starve (options.may_starve) passes either way, any other fails if it
//      does not answer;
//   4. after the attack, asks GET /plaintext again (it must answer within after_limit) and
//      waits up to settle_limit for threads and RSS to come back near the baseline.
// The verdict's detail names the input and what came back. Checks share no state: each opens
// its own connections, so run_hostile_check may run on several threads, though the timed
// ones are best run alone.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "proc_sampler.h"

namespace lab {

struct hostile_options {
  std::string host = "127.0.0.1";
  int port = 0;
  // Reads the server's threads and RSS (e.g. its process group from /proc); empty: resources
  // are not judged (a server known only by its URL).
  std::function<proc_sample()> sample;
  bool judge_rss = true;    // false for the JVM, whose heap grows in large steps (see .cpp)
  // A fixed pool of threads, each held by one connection: it may starve during the flood and
  // slowloris, and it is filled to its size (300 connections at once) before the baseline.
  bool may_starve = false;
  std::chrono::milliseconds attack{1500};        // length of the flood and slowloris attacks
  std::chrono::milliseconds during_limit{5000};  // a normal request during an attack
  std::chrono::milliseconds after_limit{5000};   // a normal request after an attack
  std::chrono::milliseconds settle_limit{5000};  // threads and RSS back near the baseline
  int slow_clients = 300;        // slowloris connections
  int flood_connections = 2000;  // idle connections (beyond every server's thread limit)
};

struct hostile_result {
  std::string name;
  bool passed = false;
  std::string detail;  // why it failed, or what it saw (answers, during-attack latency, growth)
  // Timed attacks: whether the normal request during the attack was answered, and how fast.
  bool probed_during = false;
  bool answered_during = false;
  double during_ms = 0;
};

// Every check's name, in the order run_hostile_suite runs them.
std::vector<std::string> hostile_check_names();

// Runs one check; never throws (exceptions become a failed result). Unknown name → failed.
hostile_result run_hostile_check(const std::string& name, const hostile_options& options);

}  // namespace lab
