// The registry of named checks and the runner that turns a check's exception into a result.
// The checks themselves live in checks_basic.cpp, checks_framing.cpp, checks_timing.cpp and
// checks_gateway.cpp.
#include "conformance.h"

#include <algorithm>

#include "checks.h"

namespace lab {
namespace {

// What a check needs beyond a live server; without it the check is skipped.
enum class needs {
  nothing,
  exact,                // exact_cpp_bytes: a C++ server
  live_downstream,      // downstream_port: the live downstream the server was started with
  refusing_downstream,  // downstream_port = 0: the server's downstream refuses connections
};

struct named_check {
  const char* name;
  void (*run)(checks::context&);
  needs need;
};

const std::vector<named_check>& all_checks() {
  using namespace checks;
  static const std::vector<named_check> list = {
      {"plaintext", check_plaintext, needs::nothing},
      {"json", check_json, needs::nothing},
      {"compute_vectors", check_compute_vectors, needs::nothing},
      {"compute_bad_requests", check_compute_bad_requests, needs::nothing},
      {"sleep_bad_requests", check_sleep_bad_requests, needs::nothing},
      {"query_values", check_query_values, needs::nothing},
      {"head", check_head, needs::nothing},
      {"required_headers", check_required_headers, needs::nothing},
      {"keep_alive", check_keep_alive, needs::nothing},
      {"split_request", check_split_request, needs::nothing},
      {"pipelining", check_pipelining, needs::nothing},
      {"pipelining_behind_sleep", check_pipelining_behind_sleep, needs::nothing},
      {"pipelining_with_head_and_errors", check_pipelining_with_head_and_errors, needs::nothing},
      {"pipelining_after_close", check_pipelining_after_close, needs::nothing},
      {"pipelining_split", check_pipelining_split, needs::nothing},
      {"not_found", check_not_found, needs::nothing},
      {"method_not_allowed", check_method_not_allowed, needs::nothing},
      {"malformed_request_line", check_malformed_request_line, needs::nothing},
      {"malformed_header", check_malformed_header, needs::nothing},
      {"header_too_large", check_header_too_large, needs::nothing},
      {"header_limit_boundary", check_header_limit_boundary, needs::nothing},
      {"payload_too_large", check_payload_too_large, needs::nothing},
      {"body_skipped", check_body_skipped, needs::nothing},
      {"connection_close", check_connection_close, needs::nothing},
      {"http10_close", check_http10_close, needs::nothing},
      {"http10_keep_alive", check_http10_keep_alive, needs::nothing},
      {"idle_timeout", check_idle_timeout, needs::nothing},
      {"compute_is_not_idle", check_compute_is_not_idle, needs::nothing},
      {"busy_is_not_idle", check_busy_is_not_idle, needs::nothing},
      {"sleep_duration", check_sleep_duration, needs::nothing},
      {"concurrent_sleep", check_concurrent_sleep, needs::nothing},
      {"gateway_parallel", check_gateway_parallel, needs::live_downstream},
      {"gateway_sequential", check_gateway_sequential, needs::live_downstream},
      {"gateway_bad_requests", check_gateway_bad_requests, needs::live_downstream},
      {"gateway_deadline", check_gateway_deadline, needs::live_downstream},
      {"gateway_no_leak", check_gateway_no_leak, needs::live_downstream},
      {"gateway_head", check_gateway_head, needs::live_downstream},
      {"gateway_bad_gateway", check_gateway_bad_gateway, needs::refusing_downstream},
      {"exact_plaintext_bytes", check_exact_plaintext_bytes, needs::exact},
      {"exact_json_bytes", check_exact_json_bytes, needs::exact},
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
  std::string skip;
  if (it->need == needs::exact && !options.exact_cpp_bytes)
    skip = "skipped: exact bytes are only required of the C++ servers";
  if (it->need == needs::live_downstream && options.downstream_port == 0)
    skip = "skipped: needs the live downstream the server was started with (--downstream)";
  if (it->need == needs::refusing_downstream && options.downstream_port != 0)
    skip = "skipped: needs a server started with a downstream that refuses connections (no "
           "--downstream given here)";
  if (!skip.empty()) {
    result.passed = true;
    result.skipped = true;
    result.detail = skip;
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
