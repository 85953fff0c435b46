#include "target.h"

namespace lab {

int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

target_parts split_target(std::string_view target) {
  const auto question = target.find('?');
  if (question == std::string_view::npos) return {target, {}};
  return {target.substr(0, question), target.substr(question + 1)};
}

bool is_valid_target(std::string_view target) {
  if (target.empty() || target.front() != '/') return false;
  const std::string_view path = split_target(target).path;
  for (auto at = path.find('%'); at != std::string_view::npos; at = path.find('%', at + 1)) {
    if (at + 2 >= path.size()) return false;  // "%" or "%4" at the end
    if (hex_digit_value(path[at + 1]) < 0 || hex_digit_value(path[at + 2]) < 0) return false;
  }
  return true;
}

}  // namespace lab
