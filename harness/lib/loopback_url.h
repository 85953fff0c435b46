// The URL form every command that points at a live server accepts: http://HOST:PORT[/] with
// HOST a loopback IPv4 address (127.0.0.0/8) or "localhost" — the lab never sends test or
// attack traffic anywhere else. Pure function; thread-safe.
#pragma once

#include <string>

namespace lab {

// Parses url into host ("localhost" becomes 127.0.0.1) and port. On a bad or non-loopback URL
// returns false with `error` saying what is wrong.
bool parse_loopback_url(const std::string& url, std::string& host, int& port, std::string& error);

}  // namespace lab
