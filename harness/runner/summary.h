// The human summary of a service results document (summary.md and the end of `./lab run`):
// per scenario and level, servers ranked by median throughput with p99, CPU per request, peak
// RSS and flags; then cold starts and anything not measured. A pure function of the document.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace lab {

std::string summary_markdown(const nlohmann::json& doc);

}  // namespace lab
