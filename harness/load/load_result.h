// load_result: what one lab_load run (or a merge of several) measured, kept apart from how it
// is shown. to_json/from_json are the file format (version 1, see README.md); summary() is the
// short text for a terminal. merge_results combines the results of generator processes that
// ran side by side: counts, errors and histograms add up, percentiles are recomputed from the
// merged histograms (never averaged), rates add up. Plain data; not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "latency_histogram.h"

namespace lab::load {

struct error_counts {
  std::uint64_t connect = 0;  // requests lost because their connection could not be opened
  std::uint64_t read = 0;     // reset, early close or malformed response while waiting
  std::uint64_t write = 0;    // the request could not be written
  std::uint64_t timeout = 0;  // no answer within --timeout (including the end-of-run drain)
  std::uint64_t status = 0;   // answered with a status other than 2xx (also in `responses`)
  // Requests that got no response: everything but `status`.
  std::uint64_t failed() const { return connect + read + write + timeout; }
  void add(const error_counts& o);
  bool operator==(const error_counts&) const = default;
};

struct load_result {
  std::string mode = "open";                 // "open" | "closed"
  std::string url;
  std::optional<double> offered_rate;        // open: --rate; closed: none
  double achieved_rate = 0;                  // responses / duration_s
  double duration_s = 0;                     // the measured window
  double warmup_s = 0;
  double timeout_s = 0;
  std::uint64_t connections_cap = 0;
  std::uint64_t connections_opened = 0;
  int threads = 1;
  std::optional<std::string> arrivals;       // "uniform" | "exp" (| "mixed" after a merge); closed: none
  std::optional<double> spin_us;              // open: --spin-us
  std::optional<std::uint64_t> seed;         // none after merging parts with different seeds
  std::uint64_t requests = 0;                // = responses + errors.failed()
  std::uint64_t responses = 0;
  error_counts errors;
  latency_histogram latency;                 // ns; open: from intended send time
  latency_histogram send_lag;                // ns; open only: pick-up time minus intended time
  double client_cpu_s = 0;                   // user + sys of the process, measured window + drain
  double wall_s = 0;                         // measured window + drain
  int parts = 1;                             // generator processes merged into this result
  // Responses per second of the measured window by completion time (element k: second k;
  // the drain after the window may add seconds): a throughput curve, e.g. a JIT's warm-up.
  std::vector<std::uint64_t> responses_per_second;
  std::string first_error;                   // the first connect error's message, if any

  nlohmann::json to_json() const;
  // to_json() as text: one top-level field per line, each value compact (histograms included),
  // so that the file is both small and readable.
  std::string to_json_text() const;
  // Throws std::invalid_argument if a field is missing, of the wrong type, or inconsistent.
  static load_result from_json(const nlohmann::json& j);
  std::string summary() const;
};

// Counts one response completed `since_window_ns` after the measured window began in its
// second of `per_second` (growing it; a negative offset counts in second 0).
void count_in_second(std::vector<std::uint64_t>& per_second, std::int64_t since_window_ns);
// Adds `from` to `into` second by second (growing `into` as needed).
void add_per_second(std::vector<std::uint64_t>& into, const std::vector<std::uint64_t>& from);

// Throws std::invalid_argument if `parts` is empty, mixes open and closed mode, different URLs
// or histogram layouts.
load_result merge_results(const std::vector<load_result>& parts);

}  // namespace lab::load
