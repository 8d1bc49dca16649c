// Job names: RFC 1123 subdomains of at most 52 characters, with upstream's messages.
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"

namespace tjf::model {

inline constexpr std::size_t kMaxJobNameLength = 52;

Status validateJobName(std::string_view name);

// A Unix user name turned into a valid tool name ("Jane_Doe" -> "jane-doe"), for personal mode.
std::string toolNameFromUser(std::string_view user);

}  // namespace tjf::model
