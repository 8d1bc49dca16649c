// Small string helpers used across modules.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tjf {

std::string_view trim(std::string_view s);
// Splits on every occurrence of sep; keeps empty parts.
std::vector<std::string> split(std::string_view s, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
// Single-quotes a string for /bin/sh.
std::string shellQuote(std::string_view s);

}  // namespace tjf
