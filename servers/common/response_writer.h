// response_writer.h — serialises responses: the one place where response bytes are made, so
// every C++ server sends byte-identical responses (Date aside). Header order is fixed:
// Server, Date, Content-Type, Content-Length, then Connection/Allow when present.
// Thread-safe: the Date cache is per thread.
#pragma once
#include <string>
#include <string_view>

namespace lab::http {

enum class connection_header { none, keep_alive, close };

struct response_head {
  int status = 200;
  std::string_view content_type = "text/plain";
  connection_header connection = connection_header::none;
  bool allow_get_head = false;  // adds "Allow: GET, HEAD" (405)
  bool head_only = false;       // HEAD: headers with the GET's Content-Length, no body
};

// Appends one complete response to `out`.
void append_response(std::string& out, const response_head& head, std::string_view body);

// The current time as an IMF-fixdate ("Mon, 23 Nov 2026 05:00:00 GMT"), refreshed at most
// once a second per thread.
std::string_view http_date_now();

std::string_view reason_phrase(int status);

}  // namespace lab::http
