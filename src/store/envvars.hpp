// A tool's environment variables (`toolforge envvars`): rows of the `envvars` table (migration 3).
// Values are secrets: the store file is readable by the daemon's user only (the daemon makes the
// state directory 0700 and the database files 0600), and nothing here logs a value.
// Owned by the loop thread, like the Store it works on.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "store/store.hpp"

namespace tjf::store {

struct EnvvarRecord {
  std::string tool;
  std::string name;
  std::string value;
  TimePoint created_at{};
  TimePoint updated_at{};
};

class EnvvarStore {
 public:
  explicit EnvvarStore(Store& store) : store_(store) {}

  // Sorted by name.
  Result<std::vector<EnvvarRecord>> list(const std::string& tool);
  Result<std::optional<EnvvarRecord>> find(const std::string& tool, const std::string& name);
  // Creates or replaces; returns the record as stored (created_at kept on a replace).
  Result<EnvvarRecord> put(const std::string& tool, const std::string& name,
                           const std::string& value, TimePoint now);
  // Whether there was one to delete.
  Result<bool> remove(const std::string& tool, const std::string& name);
  Result<std::size_t> count(const std::string& tool);
  // NAME=VALUE for every variable of the tool, sorted by name: what runs get.
  Result<std::vector<std::pair<std::string, std::string>>> environment(const std::string& tool);

 private:
  Store& store_;
};

}  // namespace tjf::store
