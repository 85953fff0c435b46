// query.h — reading one numeric parameter from a request's query string, by the rule of
// docs/service-contract.md ("Query parameters"): the query is split on '&' into name=value
// pairs; the first pair whose raw name equals `name` counts (later ones and other names are
// ignored); its value is form-decoded (%XX is byte XX, '+' is a space) and must then be one
// or more ASCII digits whose numeric value, leading zeros allowed, is at most `max`.
// The same rule gives has_query_param / query_value_equals for a text value (/gateway's mode).
// Pure and allocation-free; thread-safe.
#pragma once
#include <cstdint>
#include <optional>
#include <string_view>

namespace lab {

// The value of `name` in `query` (the part of the target after the first '?'), or nullopt
// when the parameter is missing, has no '=', has a malformed escape in its value, is empty or
// not all digits after decoding, or is above `max`. Never overflows, whatever the length.
std::optional<std::uint32_t> parse_query_uint(std::string_view query, std::string_view name,
                                              std::uint32_t max);

// True when some pair's raw name equals `name`, with or without '=' (a parameter that is
// present but has no value is present, and invalid).
bool has_query_param(std::string_view query, std::string_view name);

// True when the first pair named `name` has a value which, form-decoded, equals `expected`
// byte for byte. False when missing, without '=', with a malformed escape, or different.
bool query_value_equals(std::string_view query, std::string_view name, std::string_view expected);

}  // namespace lab
