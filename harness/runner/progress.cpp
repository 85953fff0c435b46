#include "progress.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <sstream>

namespace lab {

std::string format_duration(double seconds) {
  long s = std::lround(std::max(0.0, seconds));
  char buf[32];
  if (s >= 60) std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%lds", s);
  return buf;
}

std::string utc_stamp() {
  std::time_t now = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", std::gmtime(&now));
  return buf;
}

progress::progress(std::ostream& out, bool rewrite_in_place) : out_(out), in_place_(rewrite_in_place) {}

progress progress::on_stderr() { return progress(std::cerr, isatty(STDERR_FILENO)); }

void progress::plan(size_t total, double estimate_s) {
  done_ = 0;
  total_ = total;
  estimate_s_ = estimate_s;
  spent_s_ = 0;
}

void progress::step(const std::string& what, double nominal_cost_s) {
  std::ostringstream line;
  line << "[" << done_ << "/" << total_ << "] " << what << "  (~" << format_duration(seconds_left())
       << " left)";
  if (in_place_) out_ << "\r\x1b[K" << line.str() << std::flush;
  else out_ << line.str() << "\n";
  dirty_ = in_place_;
  spent_s_ += nominal_cost_s;
}

void progress::note(const std::string& message) {
  if (dirty_) out_ << "\r\x1b[K";
  out_ << message << "\n";
  dirty_ = false;
}

void progress::finish() {
  if (dirty_) out_ << "\n";
  dirty_ = false;
}

}  // namespace lab
