#include "query.h"

#include "target.h"

namespace lab {
namespace {

// The first pair named `name`: its raw value, or nullopt when there is no such pair or it
// has no '=' (both answer 400, so they need not be told apart).
std::optional<std::string_view> raw_value(std::string_view query, std::string_view name) {
  for (;;) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      if (eq == std::string_view::npos) return std::nullopt;
      return pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) return std::nullopt;
    query.remove_prefix(amp + 1);
  }
}

// Decodes the %XX escape at raw[i] (raw[i] == '%') into `c`; false when malformed.
bool decode_escape(std::string_view raw, std::size_t i, char& c) {
  const int high = i + 1 < raw.size() ? hex_digit_value(raw[i + 1]) : -1;
  const int low = i + 2 < raw.size() ? hex_digit_value(raw[i + 2]) : -1;
  if (high < 0 || low < 0) return false;  // "%", "%3", "%zz": malformed escape
  c = static_cast<char>(high * 16 + low);
  return true;
}

}  // namespace

bool has_query_param(std::string_view query, std::string_view name) {
  for (;;) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    if (pair.substr(0, pair.find('=')) == name) return true;
    if (amp == std::string_view::npos) return false;
    query.remove_prefix(amp + 1);
  }
}

bool query_value_equals(std::string_view query, std::string_view name, std::string_view expected) {
  const auto raw = raw_value(query, name);
  if (!raw) return false;
  // Decode while comparing, so nothing is copied.
  std::size_t matched = 0;
  for (std::size_t i = 0; i < raw->size(); ++i) {
    char c = (*raw)[i];
    if (c == '%') {
      if (!decode_escape(*raw, i, c)) return false;
      i += 2;
    } else if (c == '+') {
      c = ' ';
    }
    if (matched == expected.size() || expected[matched] != c) return false;
    ++matched;
  }
  return matched == expected.size();
}

std::optional<std::uint32_t> parse_query_uint(std::string_view query, std::string_view name,
                                              std::uint32_t max) {
  const auto raw = raw_value(query, name);
  if (!raw || raw->empty()) return std::nullopt;
  // Decode and convert in one pass. The sum never exceeds max * 10 + 9 (it stops as soon as
  // it passes max, and leading zeros keep it at 0), so any number of digits is safe.
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < raw->size(); ++i) {
    char c = (*raw)[i];
    if (c == '%') {
      if (!decode_escape(*raw, i, c)) return std::nullopt;
      i += 2;
    } else if (c == '+') {
      c = ' ';  // form encoding's space: never a digit, so "+1" is rejected like " 1"
    }
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<std::uint64_t>(c - '0');
    if (value > max) return std::nullopt;
  }
  return static_cast<std::uint32_t>(value);
}

}  // namespace lab
