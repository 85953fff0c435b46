// The registry of named checks and the runner that turns a check's exception into a result.
// The checks themselves live in checks_basic.cpp, checks_framing.cpp and checks_timing.cpp.
#include "conformance.h"

#include <algorithm>

#include "checks.h"

namespace lab {
namespace {

struct named_check {
  const char* name;
  void (*run)(checks::context&);
  bool exact_only;
};

const std::vector<named_check>& all_checks() {
  using namespace checks;
  static const std::vector<named_check> list = {
      {"plaintext", check_plaintext, false},
      {"json", check_json, false},
      {"compute_vectors", check_compute_vectors, false},
      {"compute_bad_requests", check_compute_bad_requests, false},
      {"sleep_bad_requests", check_sleep_bad_requests, false},
      {"query_values", check_query_values, false},
      {"head", check_head, false},
      {"required_headers", check_required_headers, false},
      {"keep_alive", check_keep_alive, false},
      {"split_request", check_split_request, false},
      {"pipelining", check_pipelining, false},
      {"pipelining_behind_sleep", check_pipelining_behind_sleep, false},
      {"pipelining_with_head_and_errors", check_pipelining_with_head_and_errors, false},
      {"pipelining_after_close", check_pipelining_after_close, false},
      {"pipelining_split", check_pipelining_split, false},
      {"not_found", check_not_found, false},
      {"method_not_allowed", check_method_not_allowed, false},
      {"malformed_request_line", check_malformed_request_line, false},
      {"malformed_header", check_malformed_header, false},
      {"header_too_large", check_header_too_large, false},
      {"header_limit_boundary", check_header_limit_boundary, false},
      {"payload_too_large", check_payload_too_large, false},
      {"body_skipped", check_body_skipped, false},
      {"connection_close", check_connection_close, false},
      {"http10_close", check_http10_close, false},
      {"http10_keep_alive", check_http10_keep_alive, false},
      {"idle_timeout", check_idle_timeout, false},
      {"compute_is_not_idle", check_compute_is_not_idle, false},
      {"busy_is_not_idle", check_busy_is_not_idle, false},
      {"sleep_duration", check_sleep_duration, false},
      {"concurrent_sleep", check_concurrent_sleep, false},
      {"exact_plaintext_bytes", check_exact_plaintext_bytes, true},
      {"exact_json_bytes", check_exact_json_bytes, true},
  };
  return list;
}

}  // namespace

std::vector<std::string> conformance_check_names() {
  std::vector<std::string> names;
  for (const auto& check : all_checks()) names.push_back(check.name);
  return names;
}

check_result run_check(const std::string& name, const conformance_options& options) {
  check_result result{name, false, "", false};
  const auto& list = all_checks();
  auto it =
      std::find_if(list.begin(), list.end(), [&](const named_check& c) { return name == c.name; });
  if (it == list.end()) {
    std::string valid;
    for (const auto& c : list) valid += (valid.empty() ? "" : ", ") + std::string(c.name);
    result.detail = "unknown check '" + name + "'; valid: " + valid;
    return result;
  }
  if (it->exact_only && !options.exact_cpp_bytes) {
    result.passed = true;
    result.skipped = true;
    result.detail = "skipped: exact bytes are only required of the C++ servers";
    return result;
  }
  checks::context ctx{options, ""};
  try {
    it->run(ctx);
    result.passed = true;
    result.detail = ctx.note;
  } catch (const checks::check_failure& e) {
    result.detail = e.what();
  } catch (const http_error& e) {
    result.detail = std::string("HTTP: ") + e.what();
  } catch (const std::exception& e) {
    result.detail = std::string("error: ") + e.what();
  }
  return result;
}

std::vector<check_result> run_conformance(const conformance_options& options) {
  std::vector<check_result> results;
  for (const auto& name : conformance_check_names()) results.push_back(run_check(name, options));
  return results;
}

}  // namespace lab
