#include "model/names.hpp"

#include <cctype>

namespace tjf::model {
namespace {

constexpr std::string_view kNamingRules =
    "See the documentation for the naming rules: https://w.wiki/6YL8";

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// One dot-separated segment: [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool isValidSegment(std::string_view seg) {
  if (seg.empty() || !isLowerAlnum(seg.front()) || !isLowerAlnum(seg.back())) return false;
  for (const char c : seg) {
    if (!isLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

}  // namespace

Status validateJobName(std::string_view name) {
  if (name.empty()) {
    return invalidArgument("Job name is required. " + std::string(kNamingRules));
  }
  std::size_t start = 0;
  while (true) {
    const auto dot = name.find('.', start);
    const auto seg = name.substr(start, dot == std::string_view::npos ? name.npos : dot - start);
    if (!isValidSegment(seg)) {
      return invalidArgument("Invalid job name. " + std::string(kNamingRules));
    }
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  if (name.size() > kMaxJobNameLength) {
    return invalidArgument("Invalid job name, it can't be longer than 52 characters. " +
                           std::string(kNamingRules));
  }
  return {};
}

std::string toolNameFromUser(std::string_view user) {
  std::string out;
  for (const char c : user) {
    const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (isLowerAlnum(lower) || lower == '-' || lower == '.') {
      out += lower;
    } else if (!out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && !isLowerAlnum(out.back())) out.pop_back();
  while (!out.empty() && !isLowerAlnum(out.front())) out.erase(out.begin());
  if (out.size() > kMaxJobNameLength) out.resize(kMaxJobNameLength);
  return out.empty() ? "tool" : out;
}

}  // namespace tjf::model
