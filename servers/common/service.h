// service.h — the lab's service: routing and the handlers of docs/service-contract.md.
// A handler either answers at once (plaintext, json, errors) or asks the model to do the
// work its own way: wait M ms (/sleep) or run N units of CPU (/compute), then finish the
// response with append_sleep_response / append_compute_response. Thread-safe (pure).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

#include "request_parser.h"
#include "response_writer.h"

namespace lab {

inline constexpr std::uint32_t sleep_max_ms = 60'000;

// What a deferred response needs to remember of its request.
struct reply_context {
  bool head_only = false;
  http::connection_header connection = http::connection_header::none;
};

struct service_action {
  enum class kind { responded, sleep, compute };
  kind what = kind::responded;
  std::uint32_t amount = 0;  // ms for sleep, n for compute
  reply_context reply;
};

// Routes one request. For `responded` the response has been appended to `out`.
service_action handle_request(const http::request& request, std::string& out);

void append_sleep_response(const reply_context& reply, std::uint32_t ms, std::string& out);
void append_compute_response(const reply_context& reply, std::uint32_t result, std::string& out);
// A parse error: 400/413/431 with Connection: close.
void append_error_response(int status, std::string& out);

}  // namespace lab
