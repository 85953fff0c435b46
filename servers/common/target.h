// target.h — the request target by docs/service-contract.md ("Paths"): it must be in
// origin-form (start with '/'); its path is everything up to the first '?', matched raw, and
// may hold only well-formed escapes ('%' then two hex digits, which stay undecoded). The lab's
// servers are not proxies, so absolute-form ("http://host/x"), asterisk-form ("*") and a bare
// "x" are malformed request lines (400 + close), a deliberate departure from RFC 9112.
// Pure and allocation-free; thread-safe.
#pragma once
#include <string_view>

namespace lab {

struct target_parts {
  std::string_view path;   // up to the first '?', or all of the target without one
  std::string_view query;  // after the first '?', empty without one
};

// Splits at the first '?'. Does not validate: call is_valid_target first.
target_parts split_target(std::string_view target);

// True when the target starts with '/' and every '%' in its path is followed by two hex
// digits. A malformed escape in the query is not the target's concern: the query rule
// rejects it only in the value that is read.
bool is_valid_target(std::string_view target);

// 0-15 for a hex digit of either case, -1 otherwise (shared with the query decoder).
int hex_digit_value(char c);

}  // namespace lab
