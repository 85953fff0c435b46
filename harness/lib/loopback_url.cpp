#include "loopback_url.h"

#include <regex>

namespace lab {

bool parse_loopback_url(const std::string& url, std::string& host, int& port, std::string& error) {
  static const std::regex pattern(R"(http://([^/:]+):([0-9]{1,5})/?)");
  std::smatch m;
  if (!std::regex_match(url, m, pattern)) {
    error = "--url must look like http://127.0.0.1:8080, got '" + url + "'";
    return false;
  }
  host = m[1];
  port = std::stoi(m[2]);
  if (host == "localhost") host = "127.0.0.1";
  if (!std::regex_match(host, std::regex(R"(127\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3})"))) {
    error = "refusing to test '" + host +
            "': only loopback targets (127.0.0.0/8, localhost) are allowed";
    return false;
  }
  if (port < 1 || port > 65535) {
    error = "port out of range in '" + url + "'";
    return false;
  }
  return true;
}

}  // namespace lab
