// Planning a run: which servers, which measurements in which order, what is left after an
// interruption, and how long it should take. One *block* is one server start for one
// repetition: its scenarios in suite order, each level ascending; for an open-loop scenario
// given as rate_fractions its rates are known only once the server's capacity probe ran
// (`resolve_rates`), and repetition 0's block also runs the capacity search of each scenario
// with an SLO. Pure functions; thread-compatible.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "measurement.h"
#include "registry.h"
#include "suite.h"

namespace lab {

// Nominal costs behind the estimate (seconds), checked against real runs (docs/harness.md).
// A verification (start, every conformance check, stop) took 11 s alone for event_loop, and 4
// at once ~15 s (its checks mostly wait on timers; compute_is_not_idle sizes its CPU burn to
// the server's speed): each further one in a wave adds verify_extra_per_job_s.
inline constexpr double server_start_cost_s = 0.5, step_overhead_s = 0.3, verify_alone_s = 11,
                        verify_extra_per_job_s = 1.5, cold_start_cost_s = 0.25;
inline constexpr int default_verify_jobs = 4;

// Seconds to verify `servers` servers, `jobs` at a time.
double verify_seconds(size_t servers, int jobs);

// Loopback only: 127.0.0.0/8, ::1, localhost.
bool is_loopback_host(const std::string& host);

// The named servers (in the given order), or every enabled one except variants
// ("name+variant", which run only when named); an unknown name throws registry_error listing
// the valid names.
std::vector<server_spec> select_servers(const std::vector<server_spec>& all,
                                        const std::vector<std::string>& names);

struct planned_measurement {
  measurement_key key;                  // key.rate is 0 while it waits for a probe
  std::optional<double> rate_fraction;  // open loop, of the capacity probe's req/s
  bool resolved() const { return !rate_fraction || key.rate > 0; }
};

// One server start: every measurement of one repetition of one server.
struct planned_block {
  int repetition = 0;
  std::string server;
  std::vector<planned_measurement> measurements;  // suite order, levels ascending
  // Open scenarios with an SLO whose capacity is computed after their sweep in this block
  // (repetition 0 only), with their bisection steps.
  std::vector<std::pair<std::string, int>> searches;
};

// Repetitions in order; within each, servers in an order shuffled by a generator seeded with
// `seed` (the same seed gives the same plan).
std::vector<planned_block> plan_run(const suite& s, const std::vector<std::string>& servers,
                                    unsigned long long seed);

// The offered rate of `fraction` of a probe's req/s: a whole number, at least 1.
double rate_from_fraction(double fraction, double probe_rps);

// Fills key.rate of the planned measurements of (server, scenario) from a probe's req/s.
void resolve_rates(std::vector<planned_measurement>& measurements, const std::string& server,
                   const std::string& scenario, double probe_rps);

// Resolves, in every block, the measurements whose probe is in `probe_rps` ((server, scenario)
// -> req/s): what --resume and later repetitions do with the probes recorded in results.json.
void resolve_rates(std::vector<planned_block>& blocks,
                   const std::map<std::pair<std::string, std::string>, double>& probe_rps);

// The plan minus finished measurements (unresolved ones are never finished) and minus finished
// capacity searches (`searches_done`: (server, scenario) pairs whose capacity is recorded);
// blocks left with nothing to do are dropped.
std::vector<planned_block> remaining_blocks(
    const std::vector<planned_block>& plan, const std::set<measurement_key>& finished,
    const std::set<std::pair<std::string, std::string>>& searches_done = {});

// (server, scenario) pairs whose capacity probe the blocks still need (some measurement of
// theirs is unresolved).
std::set<std::pair<std::string, std::string>> probes_needed(const std::vector<planned_block>& blocks);

// Nominal seconds for the remaining work (what the estimate before starting prints): per block
// a start and primer, per scenario a warm-up (or its capacity probe, which warms up instead),
// per measurement its duration plus overhead, every capacity-search step as a measurement, a
// further start and primer where a scenario's downstream differs from the previous one's, then
// verifications (`verify_jobs` at a time) and cold starts.
double estimate_seconds(const suite& s, const std::vector<planned_block>& blocks,
                        size_t servers_to_verify, size_t servers_to_cold_start,
                        int verify_jobs = default_verify_jobs);

}  // namespace lab
