#include "response_writer.h"

#include <charconv>
#include <ctime>

namespace lab::http {

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Payload Too Large";
    case 431: return "Request Header Fields Too Large";
    case 502: return "Bad Gateway";
    case 504: return "Gateway Timeout";
    default: return "Internal Server Error";
  }
}

std::string_view http_date_now() {
  // time() is a vDSO call; formatting happens once per second per thread.
  thread_local std::time_t cached_second = -1;
  thread_local char text[64];
  thread_local std::size_t length = 0;
  const std::time_t now = std::time(nullptr);
  if (now != cached_second) {
    std::tm utc{};
    gmtime_r(&now, &utc);
    length = std::strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S GMT", &utc);
    cached_second = now;
  }
  return {text, length};
}

void append_response(std::string& out, const response_head& head, std::string_view body) {
  char status_digits[8];
  char length_digits[24];
  const auto status_end = std::to_chars(status_digits, status_digits + sizeof status_digits, head.status).ptr;
  const auto length_end = std::to_chars(length_digits, length_digits + sizeof length_digits, body.size()).ptr;

  out.append("HTTP/1.1 ");
  out.append(status_digits, status_end);
  out.push_back(' ');
  out.append(reason_phrase(head.status));
  out.append("\r\nServer: concurrency-lab\r\nDate: ");
  out.append(http_date_now());
  out.append("\r\nContent-Type: ");
  out.append(head.content_type);
  out.append("\r\nContent-Length: ");
  out.append(length_digits, length_end);
  if (head.connection == connection_header::close) out.append("\r\nConnection: close");
  if (head.connection == connection_header::keep_alive) out.append("\r\nConnection: keep-alive");
  if (head.allow_get_head) out.append("\r\nAllow: GET, HEAD");
  out.append("\r\n\r\n");
  if (!head.head_only) out.append(body);
}

}  // namespace lab::http
