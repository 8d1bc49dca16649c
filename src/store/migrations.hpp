// Numbered schema migrations. Migration N brings the schema from version N-1 to N; all pending
// ones are applied in one transaction at start-up, and PRAGMA user_version records the result.
#pragma once

#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "store/sqlite.hpp"

namespace tjf::store {

const std::vector<std::string_view>& migrations();
Status migrate(Database& db);

}  // namespace tjf::store
