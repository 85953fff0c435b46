#include "response_parser.h"

#include <algorithm>

namespace lab::load {

enum class response_parser::state : std::uint8_t {
  status_start, status_http, status_major, status_dot, status_minor, status_sp, status_code,
  status_after_code, status_reason, status_lf,
  header_line_start, header_name, header_value_ws, header_value, header_lf, headers_end_lf,
  body_length, body_until_close,
  chunk_size, chunk_ext, chunk_size_lf, chunk_data, chunk_data_cr, chunk_data_lf,
  trailer_line_start, trailer_line, trailer_line_lf, trailer_end_lf,
  complete, bad
};

namespace {

constexpr std::string_view http_prefix = "HTTP/";

bool is_token_char(unsigned char c) {
  if (c >= '0' && c <= '9') return true;
  if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return true;
  switch (c) {
    case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+': case '-':
    case '.': case '^': case '_': case '`': case '|': case '~':
      return true;
    default:
      return false;
  }
}

// Control characters other than horizontal tab have no place in a status line or header.
bool is_forbidden_control(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

char to_lower(unsigned char c) { return static_cast<char>(c >= 'A' && c <= 'Z' ? c | 0x20 : c); }

int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c |= 0x20;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

void response_parser::reset() {
  state_ = state::status_start;
  error_ = nullptr;
  header_bytes_ = line_bytes_ = 0;
  version_minor_ = 1;
  status_code_ = code_digits_ = 0;
  keep_alive_ = true;
  close_token_ = keep_alive_token_ = false;
  has_length_ = te_present_ = te_chunked_ = false;
  value_started_ = value_ended_ = false;
  content_length_ = header_length_ = remaining_ = 0;
  chunk_digits_ = 0;
  kind_ = header_kind::other;
  name_len_ = value_len_ = 0;
}

bool response_parser::idle() const {
  return state_ == state::status_start || state_ == state::complete;
}

parse_result response_parser::fail(const char* why, std::size_t consumed) {
  state_ = state::bad;
  error_ = why;
  return {parse_status::bad, consumed};
}

void response_parser::note_token(std::string_view token) {
  token = trim_ows(token);
  if (token == "close") close_token_ = true;
  if (token == "keep-alive") keep_alive_token_ = true;
}

bool response_parser::finish_header_line() {
  const std::string_view value(value_, value_len_);
  switch (kind_) {
    case header_kind::content_length:
      if (!value_started_) {
        error_ = "empty Content-Length";
        return false;
      }
      if (has_length_ && header_length_ != content_length_) {
        error_ = "conflicting Content-Length headers";
        return false;
      }
      has_length_ = true;
      content_length_ = header_length_;
      break;
    case header_kind::transfer_encoding: {
      // The last coding decides whether the body is chunked.
      te_present_ = true;
      const auto comma = value.rfind(',');
      const auto last = trim_ows(comma == std::string_view::npos ? value : value.substr(comma + 1));
      te_chunked_ = last == "chunked";
      break;
    }
    case header_kind::connection: {
      std::size_t start = 0;
      while (start <= value.size()) {
        auto comma = value.find(',', start);
        if (comma == std::string_view::npos) comma = value.size();
        note_token(value.substr(start, comma - start));
        start = comma + 1;
      }
      break;
    }
    case header_kind::other:
      break;
  }
  kind_ = header_kind::other;
  name_len_ = value_len_ = 0;
  value_started_ = value_ended_ = false;
  header_length_ = 0;
  return true;
}

void response_parser::begin_body() {
  keep_alive_ = version_minor_ >= 1 ? !close_token_ : (keep_alive_token_ && !close_token_);
  if (status_code_ == 204 || status_code_ == 304) {
    state_ = state::complete;
  } else if (te_present_) {
    // Transfer-Encoding overrides Content-Length (RFC 9112 6.3); a non-chunked coding means
    // the body runs until the server closes.
    if (te_chunked_) {
      state_ = state::chunk_size;
    } else {
      state_ = state::body_until_close;
      keep_alive_ = false;
    }
  } else if (has_length_) {
    remaining_ = content_length_;
    state_ = remaining_ ? state::body_length : state::complete;
  } else {
    state_ = state::body_until_close;
    keep_alive_ = false;
  }
}

parse_result response_parser::parse(std::string_view bytes) {
  if (state_ == state::complete) reset();
  if (state_ == state::bad) return {parse_status::bad, 0};
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t size = bytes.size();
  std::size_t i = 0;
  while (i < size) {
    // Bulk states first: body bytes are skipped, not looked at one by one.
    if (state_ == state::body_length || state_ == state::chunk_data) {
      const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, size - i));
      i += take;
      remaining_ -= take;
      if (remaining_ == 0) {
        if (state_ == state::body_length) {
          state_ = state::complete;
          return {parse_status::complete, i};
        }
        state_ = state::chunk_data_cr;
      }
      continue;
    }
    if (state_ == state::body_until_close) return {parse_status::need_more, size};

    const unsigned char c = data[i++];
    switch (state_) {
      case state::status_start:
      case state::status_http:
      case state::status_major:
      case state::status_dot:
      case state::status_minor:
      case state::status_sp:
      case state::status_code:
      case state::status_after_code:
      case state::status_reason:
      case state::status_lf:
      case state::header_line_start:
      case state::header_name:
      case state::header_value_ws:
      case state::header_value:
      case state::header_lf:
      case state::headers_end_lf:
      case state::trailer_line_start:
      case state::trailer_line:
      case state::trailer_line_lf:
      case state::trailer_end_lf:
        if (++header_bytes_ > limits_.max_header_bytes)
          return fail("header section too large", i);
        break;
      case state::chunk_size:
      case state::chunk_ext:
      case state::chunk_size_lf:
        if (++line_bytes_ > limits_.max_chunk_line) return fail("chunk size line too long", i);
        break;
      default:
        break;
    }

    switch (state_) {
      case state::status_start:
        if (c != 'H') return fail("not an HTTP response", i);
        state_ = state::status_http;
        code_digits_ = 1;  // counts matched bytes of "HTTP/" here
        break;
      case state::status_http:
        if (c != static_cast<unsigned char>(http_prefix[code_digits_]))
          return fail("not an HTTP response", i);
        if (++code_digits_ == static_cast<int>(http_prefix.size())) {
          code_digits_ = 0;
          state_ = state::status_major;
        }
        break;
      case state::status_major:
        if (c != '1') return fail("unsupported HTTP version", i);
        state_ = state::status_dot;
        break;
      case state::status_dot:
        if (c != '.') return fail("bad HTTP version", i);
        state_ = state::status_minor;
        break;
      case state::status_minor:
        if (c < '0' || c > '9') return fail("bad HTTP version", i);
        version_minor_ = c - '0';
        state_ = state::status_sp;
        break;
      case state::status_sp:
        if (c != ' ') return fail("bad status line", i);
        state_ = state::status_code;
        break;
      case state::status_code:
        if (c < '0' || c > '9') return fail("bad status code", i);
        status_code_ = status_code_ * 10 + (c - '0');
        if (++code_digits_ == 3) {
          if (status_code_ < 100 || status_code_ > 599) return fail("bad status code", i);
          state_ = state::status_after_code;
        }
        break;
      case state::status_after_code:
        if (c == ' ') state_ = state::status_reason;
        else if (c == '\r') state_ = state::status_lf;
        else if (c == '\n') state_ = state::header_line_start;
        else return fail("bad status line", i);
        break;
      case state::status_reason:
        if (c == '\r') state_ = state::status_lf;
        else if (c == '\n') state_ = state::header_line_start;
        else if (is_forbidden_control(c)) return fail("control character in status line", i);
        break;
      case state::status_lf:
        if (c != '\n') return fail("bad line ending", i);
        state_ = state::header_line_start;
        break;
      case state::header_line_start:
        if (c == '\r') {
          state_ = state::headers_end_lf;
        } else if (c == '\n') {
          goto end_of_headers;
        } else if (c == ' ' || c == '\t') {
          return fail("obsolete header line folding", i);
        } else if (is_token_char(c)) {
          name_[0] = to_lower(c);
          name_len_ = 1;
          state_ = state::header_name;
        } else {
          return fail("bad header name", i);
        }
        break;
      case state::header_name:
        if (is_token_char(c)) {
          if (name_len_ < name_cap) name_[name_len_] = to_lower(c);
          ++name_len_;  // may exceed name_cap: then it matches nothing we look for
        } else if (c == ':') {
          const std::string_view name(name_, std::min(name_len_, name_cap));
          if (name_len_ > name_cap) kind_ = header_kind::other;
          else if (name == "content-length") kind_ = header_kind::content_length;
          else if (name == "transfer-encoding") kind_ = header_kind::transfer_encoding;
          else if (name == "connection") kind_ = header_kind::connection;
          else kind_ = header_kind::other;
          state_ = state::header_value_ws;
        } else {
          return fail("bad header name", i);
        }
        break;
      case state::header_value_ws:
        if (c == ' ' || c == '\t') break;
        state_ = state::header_value;
        [[fallthrough]];
      case state::header_value:
        if (c == '\r') {
          state_ = state::header_lf;
          break;
        }
        if (c == '\n') {
          if (!finish_header_line()) return fail(error_, i);
          state_ = state::header_line_start;
          break;
        }
        if (is_forbidden_control(c)) return fail("control character in header value", i);
        if (kind_ == header_kind::content_length) {
          if (c >= '0' && c <= '9') {
            if (value_ended_) return fail("bad Content-Length", i);
            const std::uint64_t digit = c - '0';
            if (header_length_ > (limits_.max_content_length - digit) / 10)
              return fail("Content-Length too large", i);
            header_length_ = header_length_ * 10 + digit;
            value_started_ = true;
          } else if (c == ' ' || c == '\t') {
            value_ended_ = true;
          } else {
            return fail("bad Content-Length", i);
          }
        } else if (kind_ != header_kind::other) {
          if (value_len_ == value_cap) return fail("header value too long", i);
          value_[value_len_++] = to_lower(c);
        }
        break;
      case state::header_lf:
        if (c != '\n') return fail("bad line ending", i);
        if (!finish_header_line()) return fail(error_, i);
        state_ = state::header_line_start;
        break;
      case state::headers_end_lf:
        if (c != '\n') return fail("bad line ending", i);
      end_of_headers:
        if (status_code_ < 200) {
          if (status_code_ == 101) return fail("protocol upgrade not supported", i);
          // An interim response: the real one follows.
          reset();
          break;
        }
        begin_body();
        if (state_ == state::complete) return {parse_status::complete, i};
        break;
      case state::chunk_size: {
        const int h = hex_value(c);
        if (h >= 0) {
          if (++chunk_digits_ > 15) return fail("chunk size too large", i);
          remaining_ = remaining_ * 16 + static_cast<std::uint64_t>(h);
          if (remaining_ > limits_.max_content_length) return fail("chunk size too large", i);
        } else if (chunk_digits_ == 0) {
          return fail("bad chunk size", i);
        } else if (c == ';' || c == ' ' || c == '\t') {
          state_ = state::chunk_ext;
        } else if (c == '\r') {
          state_ = state::chunk_size_lf;
        } else if (c == '\n') {
          goto end_of_chunk_size;
        } else {
          return fail("bad chunk size", i);
        }
        break;
      }
      case state::chunk_ext:
        if (c == '\r') state_ = state::chunk_size_lf;
        else if (c == '\n') goto end_of_chunk_size;
        else if (is_forbidden_control(c)) return fail("control character in chunk extension", i);
        break;
      case state::chunk_size_lf:
        if (c != '\n') return fail("bad line ending", i);
      end_of_chunk_size:
        line_bytes_ = 0;
        chunk_digits_ = 0;
        state_ = remaining_ ? state::chunk_data : state::trailer_line_start;
        break;
      case state::chunk_data_cr:
        if (c == '\r') state_ = state::chunk_data_lf;
        else if (c == '\n') state_ = state::chunk_size;
        else return fail("chunk data not followed by CRLF", i);
        break;
      case state::chunk_data_lf:
        if (c != '\n') return fail("chunk data not followed by CRLF", i);
        state_ = state::chunk_size;
        break;
      case state::trailer_line_start:
        if (c == '\r') {
          state_ = state::trailer_end_lf;
        } else if (c == '\n') {
          state_ = state::complete;
          return {parse_status::complete, i};
        } else if (is_forbidden_control(c)) {
          return fail("control character in trailer", i);
        } else {
          state_ = state::trailer_line;
        }
        break;
      case state::trailer_line:
        if (c == '\r') state_ = state::trailer_line_lf;
        else if (c == '\n') state_ = state::trailer_line_start;
        else if (is_forbidden_control(c)) return fail("control character in trailer", i);
        break;
      case state::trailer_line_lf:
        if (c != '\n') return fail("bad line ending", i);
        state_ = state::trailer_line_start;
        break;
      case state::trailer_end_lf:
        if (c != '\n') return fail("bad line ending", i);
        state_ = state::complete;
        return {parse_status::complete, i};
      case state::body_length:
      case state::chunk_data:
      case state::body_until_close:
      case state::complete:
      case state::bad:
        break;  // handled above / unreachable
    }
  }
  return {parse_status::need_more, size};
}

parse_result response_parser::parse_eof() {
  if (state_ == state::bad) return {parse_status::bad, 0};
  if (state_ == state::body_until_close) {
    state_ = state::complete;
    return {parse_status::complete, 0};
  }
  if (idle()) return {parse_status::need_more, 0};
  return fail("connection closed before the end of the response", 0);
}

}  // namespace lab::load
