// query.h — reading one numeric parameter from a request's query string, by the rule of
// docs/service-contract.md ("Query parameters"): the query is split on '&' into name=value
// pairs; the first pair whose raw name equals `name` counts (later ones and other names are
// ignored); its value is form-decoded (%XX is byte XX, '+' is a space) and must then be one
// or more ASCII digits whose numeric value, leading zeros allowed, is at most `max`.
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

}  // namespace lab
