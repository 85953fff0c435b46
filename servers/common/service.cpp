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

  enum class route { plaintext, json, compute, sleep, unknown };
  const route r = path == "/plaintext" ? route::plaintext
                  : path == "/json"    ? route::json
                  : path == "/compute" ? route::compute
                  : path == "/sleep"   ? route::sleep
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
    case route::unknown:
      break;
  }
  if (r == route::compute || r == route::sleep) append_text(reply, 400, "Bad Request", out);
  return {service_action::kind::responded, 0, reply};
}

void append_sleep_response(const reply_context& reply, std::uint32_t ms, std::string& out) {
  append_number(reply, ms, out);
}

void append_compute_response(const reply_context& reply, std::uint32_t result, std::string& out) {
  append_number(reply, result, out);
}

void append_error_response(int status, std::string& out) {
  append_text({false, http::connection_header::close}, status, http::reason_phrase(status), out);
}

}  // namespace lab
