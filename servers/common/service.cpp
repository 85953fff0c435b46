#include "service.h"

#include <charconv>
#include <nlohmann/json.hpp>

#include "compute.h"
#include "query.h"
#include "target.h"

namespace lab {
namespace {

using http::connection_header;

reply_context reply_for(const http::request& request) {
  reply_context reply;
  reply.head_only = request.verb == http::method::head;
  if (!request.keep_alive) reply.connection = connection_header::close;
  else if (request.version == 10) reply.connection = connection_header::keep_alive;
  return reply;
}

void append_text(const reply_context& reply, int status, std::string_view body, std::string& out,
                 std::string_view content_type = "text/plain", bool allow = false) {
  http::append_response(out, {status, content_type, reply.connection, allow, reply.head_only}, body);
}

void append_number(const reply_context& reply, std::uint32_t value, std::string& out) {
  char digits[16];
  const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
  append_text(reply, 200, std::string_view(digits, end - digits), out);
}

}  // namespace

service_action handle_request(const http::request& request, std::string& out) {
  const reply_context reply = reply_for(request);
  // The parser has already rejected a target that is not origin-form (docs: Paths).
  const auto [path, query] = split_target(request.target);

  enum class route { plaintext, json, compute, sleep, gateway, unknown };
  const route r = path == "/plaintext" ? route::plaintext
                  : path == "/json"    ? route::json
                  : path == "/compute" ? route::compute
                  : path == "/sleep"   ? route::sleep
                  : path == "/gateway" ? route::gateway
                                       : route::unknown;
  if (r == route::unknown) {
    append_text(reply, 404, "Not Found", out);
    return {service_action::kind::responded, 0, reply};
  }
  if (request.verb == http::method::other) {
    append_text(reply, 405, "Method Not Allowed", out, "text/plain", /*allow=*/true);
    return {service_action::kind::responded, 0, reply};
  }
  switch (r) {
    case route::plaintext:
      append_text(reply, 200, "Hello, World!", out);
      break;
    case route::json: {
      // Serialised per request by a JSON library, as the contract asks (no constant string).
      const nlohmann::json message = {{"message", "Hello, World!"}};
      append_text(reply, 200, message.dump(), out, "application/json");
      break;
    }
    case route::compute: {
      const auto n = parse_query_uint(query, "n", compute_max_n);
      if (!n) break;
      return {service_action::kind::compute, *n, reply};
    }
    case route::sleep: {
      const auto ms = parse_query_uint(query, "ms", sleep_max_ms);
      if (!ms) break;
      return {service_action::kind::sleep, *ms, reply};
    }
    case route::gateway: {
      const auto call = parse_gateway_query(query);
      if (!call) break;
      return {service_action::kind::gateway, 0, reply, *call};
    }
    case route::unknown:
      break;
  }
  if (r == route::compute || r == route::sleep || r == route::gateway)
    append_text(reply, 400, "Bad Request", out);
  return {service_action::kind::responded, 0, reply};
}

void append_sleep_response(const reply_context& reply, std::uint32_t ms, std::string& out) {
  append_number(reply, ms, out);
}

void append_compute_response(const reply_context& reply, std::uint32_t result, std::string& out) {
  append_number(reply, result, out);
}

std::optional<gateway_call> parse_gateway_query(std::string_view query) {
  gateway_call call;
  const auto fanout = parse_query_uint(query, "fanout", gateway_max_fanout);
  const auto ms = parse_query_uint(query, "ms", sleep_max_ms);
  if (!fanout || *fanout == 0 || !ms) return std::nullopt;
  call.fanout = *fanout;
  call.ms = *ms;
  if (has_query_param(query, "mode")) {
    call.sequential = query_value_equals(query, "mode", "sequential");
    if (!call.sequential && !query_value_equals(query, "mode", "parallel")) return std::nullopt;
  }
  if (has_query_param(query, "deadline_ms")) {
    const auto deadline = parse_query_uint(query, "deadline_ms", gateway_max_deadline_ms);
    if (!deadline || *deadline == 0) return std::nullopt;
    call.deadline_ms = *deadline;
  }
  return call;
}

void append_gateway_response(const reply_context& reply, const gateway_call& call,
                             const gateway_result& result, std::string& out) {
  if (result.status != 200) {
    append_text(reply, result.status, http::reason_phrase(result.status), out);
    return;
  }
  // Written by hand rather than through a JSON library: the bytes are part of the contract
  // (identical across the five C++ servers) and this is a flat list of integers.
  char body[64 + gateway_max_fanout * 34];  // 34: ,{"i":4294967295,"ms":4294967295}
  char* at = body;
  const auto put = [&at](std::string_view text) {
    for (const char c : text) *at++ = c;
  };
  const auto number = [&at](std::uint32_t value) { at = std::to_chars(at, at + 16, value).ptr; };
  put("{\"fanout\":");
  number(call.fanout);
  put(call.sequential ? ",\"mode\":\"sequential\",\"calls\":[" : ",\"mode\":\"parallel\",\"calls\":[");
  for (std::uint32_t i = 0; i < call.fanout; ++i) {
    put(i == 0 ? "{\"i\":" : ",{\"i\":");
    number(result.calls[i].i);
    put(",\"ms\":");
    number(result.calls[i].ms);
    put("}");
  }
  put("]}");
  append_text(reply, 200, std::string_view(body, at - body), out, "application/json");
}

void append_error_response(int status, std::string& out) {
  append_text({false, http::connection_header::close}, status, http::reason_phrase(status), out);
}

}  // namespace lab
