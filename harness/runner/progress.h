// The live progress line of a run on stderr — "[done/total] what  (~time left)" — rewritten in
// place on a terminal and printed line by line otherwise, with the time left taken from the
// same nominal arithmetic as the estimate printed before the run (plan.h). Also the duration
// and timestamp formats the harness prints. Single-threaded use only.
#pragma once

#include <cstddef>
#include <ostream>
#include <string>

namespace lab {

// "45s", "4m51s" (whole seconds, rounded; negative counts as 0).
std::string format_duration(double seconds);

// "20261123T050000Z": the current UTC time, for run folder names.
std::string utc_stamp();

class progress {
 public:
  // `out` (stderr in the harness); `rewrite_in_place` on a terminal.
  progress(std::ostream& out, bool rewrite_in_place);
  // The harness's: std::cerr, rewritten in place when stderr is a terminal.
  static progress on_stderr();

  // Starts counting: `total` measurements and cold starts, `estimate_s` nominal seconds.
  void plan(size_t total, double estimate_s);
  // Shows the step about to run and books its nominal cost against the estimate.
  void step(const std::string& what, double nominal_cost_s);
  // One measurement or cold start finished (counts towards done/total).
  void advance() { ++done_; }
  // A message on its own line without losing the progress line.
  void note(const std::string& message);
  void finish();

  size_t done() const { return done_; }
  size_t total() const { return total_; }
  double seconds_left() const { return estimate_s_ > spent_s_ ? estimate_s_ - spent_s_ : 0; }

 private:
  std::ostream& out_;
  bool in_place_;
  bool dirty_ = false;
  size_t done_ = 0, total_ = 0;
  double estimate_s_ = 0, spent_s_ = 0;
};

}  // namespace lab
