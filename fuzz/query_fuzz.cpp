// Fuzz target: the query rule of docs/service-contract.md as the servers apply it
// (servers/common/query.h, target.h, and the routing of service.h) to /compute?n=, /sleep?ms=
// and /gateway?fanout=&ms=&mode=&deadline_ms=. The input is a query string. Each value read is
// compared with a slow, obviously-correct reading of the same rule written here (split on '&',
// first pair of that raw name, form-decode into a string, digits only, compare as a decimal
// string against max), and handle_request() must route GET /compute|/sleep|/gateway?<input>
// to exactly that: the deferred action with that value, or a 400.
#include <optional>
#include <string>

#include "compute.h"
#include "fuzz_support.h"
#include "query.h"
#include "service.h"
#include "target.h"

namespace {

struct raw_pair {
  bool found = false;
  bool has_value = false;
  std::string value;  // raw, still encoded
};

raw_pair first_pair(std::string_view query, std::string_view name) {
  std::size_t start = 0;
  for (;;) {
    std::size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    const std::string pair(query.substr(start, end - start));
    const std::size_t eq = pair.find('=');
    if (pair.substr(0, eq) == name)
      return {true, eq != std::string::npos, eq == std::string::npos ? "" : pair.substr(eq + 1)};
    if (end == query.size()) return {};
    start = end + 1;
  }
}

std::optional<std::string> form_decode(const std::string& raw) {
  std::string out;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '+') {
      out += ' ';
    } else if (raw[i] == '%') {
      if (i + 2 >= raw.size()) return std::nullopt;  // "%" or "%4" at the end
      if (lab::hex_digit_value(raw[i + 1]) < 0 || lab::hex_digit_value(raw[i + 2]) < 0) return std::nullopt;
      out += static_cast<char>(lab::hex_digit_value(raw[i + 1]) * 16 + lab::hex_digit_value(raw[i + 2]));
      i += 2;
    } else {
      out += raw[i];
    }
  }
  return out;
}

std::optional<std::uint32_t> reference_uint(std::string_view query, std::string_view name,
                                            std::uint32_t max) {
  const raw_pair pair = first_pair(query, name);
  if (!pair.found || !pair.has_value) return std::nullopt;
  auto decoded = form_decode(pair.value);
  if (!decoded || decoded->empty()) return std::nullopt;
  for (const char c : *decoded)
    if (c < '0' || c > '9') return std::nullopt;
  const std::size_t nonzero = decoded->find_first_not_of('0');
  const std::string digits = nonzero == std::string::npos ? "0" : decoded->substr(nonzero);
  const std::string max_digits = std::to_string(max);
  if (digits.size() != max_digits.size() ? digits.size() > max_digits.size() : digits > max_digits)
    return std::nullopt;
  return static_cast<std::uint32_t>(std::stoul(digits));
}

lab::service_action route(const std::string& path, std::string_view query, std::string& out) {
  const std::string target = path + "?" + std::string(query);
  lab::http::request request{lab::http::method::get, target, 11, true};
  out.clear();
  return lab::handle_request(request, out);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view query(reinterpret_cast<const char*>(data), size);
  std::string out;

  for (const char* name : {"n", "ms", "fanout", "deadline_ms", "i", ""}) {
    for (const std::uint32_t max : {0u, 1u, 64u, 60'000u, 4'294'967'295u}) {
      FUZZ_CHECK(lab::parse_query_uint(query, name, max) == reference_uint(query, name, max));
    }
    FUZZ_CHECK(lab::has_query_param(query, name) == first_pair(query, name).found);
  }
  const raw_pair mode = first_pair(query, "mode");
  const std::optional<std::string> mode_value =
      mode.found && mode.has_value ? form_decode(mode.value) : std::nullopt;
  for (const char* expected : {"sequential", "parallel", "", " "})
    FUZZ_CHECK(lab::query_value_equals(query, "mode", expected) == (mode_value == std::string(expected)));

  // /compute and /sleep: the deferred step with the value, or a 400.
  const auto n = reference_uint(query, "n", lab::compute_max_n);
  auto action = route("/compute", query, out);
  FUZZ_CHECK(n ? action.what == lab::service_action::kind::compute && action.amount == *n
               : action.what == lab::service_action::kind::responded && out.starts_with("HTTP/1.1 400 "));
  const auto ms = reference_uint(query, "ms", lab::sleep_max_ms);
  action = route("/sleep", query, out);
  FUZZ_CHECK(ms ? action.what == lab::service_action::kind::sleep && action.amount == *ms
                : action.what == lab::service_action::kind::responded && out.starts_with("HTTP/1.1 400 "));

  // /gateway: fanout 1..64 and ms required; mode parallel|sequential and deadline_ms 1..600000
  // optional, but invalid when present.
  lab::gateway_call call{};
  bool valid = false;
  const auto fanout = reference_uint(query, "fanout", lab::gateway_max_fanout);
  if (fanout && *fanout > 0 && ms) {
    call = lab::gateway_call{*fanout, *ms, false, 0};
    valid = true;
    if (mode.found) {
      call.sequential = mode_value == std::string("sequential");
      valid = call.sequential || mode_value == std::string("parallel");
    }
    if (valid && first_pair(query, "deadline_ms").found) {
      const auto deadline = reference_uint(query, "deadline_ms", lab::gateway_max_deadline_ms);
      valid = deadline && *deadline > 0;
      call.deadline_ms = deadline.value_or(0);
    }
  }
  const auto parsed = lab::parse_gateway_query(query);
  FUZZ_CHECK(parsed.has_value() == valid);
  if (parsed && valid) {
    FUZZ_CHECK(parsed->fanout == call.fanout && parsed->ms == call.ms &&
               parsed->sequential == call.sequential && parsed->deadline_ms == call.deadline_ms);
  }
  action = route("/gateway", query, out);
  FUZZ_CHECK(valid ? action.what == lab::service_action::kind::gateway && action.gateway.fanout == call.fanout
                   : action.what == lab::service_action::kind::responded && out.starts_with("HTTP/1.1 400 "));

  // The target as a whole: valid exactly when the path (before any '?') has good escapes.
  const std::string target = "/" + std::string(query);
  const std::string path = target.substr(0, target.find('?'));
  bool escapes_ok = true;
  for (std::size_t i = 0; i < path.size(); ++i)
    if (path[i] == '%')
      escapes_ok = escapes_ok && i + 2 < path.size() && lab::hex_digit_value(path[i + 1]) >= 0 &&
                   lab::hex_digit_value(path[i + 2]) >= 0;
  FUZZ_CHECK(lab::is_valid_target(target) == escapes_ok);
  return 0;
}
