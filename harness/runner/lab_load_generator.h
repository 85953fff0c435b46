// lab_load (harness/load/, built as {bin}/lab_load) behind the load_generator interface: the
// open-loop generator (an offered rate on a schedule, latency counted from the scheduled send
// time) that also runs closed loop. It is started pinned to the client CPUs with --json
// logs/<stem>.lab_load.json and its console in logs/<stem>.lab_load.txt; results come only
// from that JSON (its fields: docs/results-schema.md, "lab_load's report"), which also holds the
// mergeable latency histogram. Not thread-safe (one lab_load at a time).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "load_generator.h"

namespace lab {

// Parses lab_load's --json report. Throws load_error naming the missing or invalid field.
// `histogram_file` is recorded in the result as where the histogram lives.
load_result parse_lab_load_report(const std::string& json_text,
                                  const std::filesystem::path& histogram_file = {});

// lab_load's argv for a request (without CPU pinning, which happens before exec).
std::vector<std::string> lab_load_argv(const std::filesystem::path& binary,
                                       const load_request& request,
                                       const std::filesystem::path& json_out);

class lab_load_generator : public load_generator {
 public:
  explicit lab_load_generator(std::filesystem::path binary) : binary_(std::move(binary)) {}
  std::string name() const override { return "lab_load"; }
  // Exit 0, or 1 ("nothing succeeded") with a report, give a result; anything else, a missing
  // report or a run past duration + timeout + 10 s throws load_error with the console's tail.
  load_result run(const load_request& request) override;
  void load_only(const load_request& request, double seconds) override;

 private:
  std::filesystem::path binary_;
};

}  // namespace lab
