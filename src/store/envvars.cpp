#include "store/envvars.hpp"

#include "base/time_format.hpp"

namespace tjf::store {
namespace {

constexpr const char* kColumns = "tool, name, value, created_at, updated_at";

EnvvarRecord readEnvvar(const Statement& s) {
  return EnvvarRecord{.tool = s.columnText(0),
                      .name = s.columnText(1),
                      .value = s.columnText(2),
                      .created_at = fromUnixMillis(s.columnInt(3)),
                      .updated_at = fromUnixMillis(s.columnInt(4))};
}

Result<std::vector<EnvvarRecord>> readAll(Result<Statement>& stmt) {
  if (!stmt) return tl::unexpected(stmt.error());
  std::vector<EnvvarRecord> out;
  while (true) {
    auto row = stmt->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return out;
    out.push_back(readEnvvar(*stmt));
  }
}

}  // namespace

Result<std::vector<EnvvarRecord>> EnvvarStore::list(const std::string& tool) {
  auto stmt = store_.database().prepare(std::string("SELECT ") + kColumns +
                                        " FROM envvars WHERE tool = ? ORDER BY name");
  if (stmt) stmt->bind(1, tool);
  return readAll(stmt);
}

Result<std::optional<EnvvarRecord>> EnvvarStore::find(const std::string& tool,
                                                      const std::string& name) {
  auto stmt = store_.database().prepare(std::string("SELECT ") + kColumns +
                                        " FROM envvars WHERE tool = ? AND name = ?");
  if (stmt) stmt->bind(1, tool).bind(2, name);
  auto all = readAll(stmt);
  if (!all) return tl::unexpected(all.error());
  if (all->empty()) return std::optional<EnvvarRecord>();
  return std::optional<EnvvarRecord>(std::move(all->front()));
}

Result<EnvvarRecord> EnvvarStore::put(const std::string& tool, const std::string& name,
                                      const std::string& value, TimePoint now) {
  auto stmt = store_.database().prepare(
      "INSERT INTO envvars (tool, name, value, created_at, updated_at) VALUES (?,?,?,?,?) "
      "ON CONFLICT (tool, name) DO UPDATE SET value = excluded.value, "
      "updated_at = excluded.updated_at");
  if (!stmt) return tl::unexpected(stmt.error());
  const auto ms = toUnixMillis(now);
  stmt->bind(1, tool).bind(2, name).bind(3, value).bind(4, ms).bind(5, ms);
  if (auto ok = stmt->run(); !ok) return tl::unexpected(ok.error());
  auto stored = find(tool, name);
  if (!stored) return tl::unexpected(stored.error());
  if (!*stored) return internalError("store: envvar '" + name + "' vanished after it was written");
  return std::move(**stored);
}

Result<bool> EnvvarStore::remove(const std::string& tool, const std::string& name) {
  auto stmt = store_.database().prepare("DELETE FROM envvars WHERE tool = ? AND name = ?");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind(1, tool).bind(2, name);
  if (auto ok = stmt->run(); !ok) return tl::unexpected(ok.error());
  return store_.database().changes() > 0;
}

Result<std::size_t> EnvvarStore::count(const std::string& tool) {
  auto stmt = store_.database().prepare("SELECT COUNT(*) FROM envvars WHERE tool = ?");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind(1, tool);
  auto row = stmt->step();
  if (!row) return tl::unexpected(row.error());
  return static_cast<std::size_t>(stmt->columnInt(0));
}

Result<std::vector<std::pair<std::string, std::string>>> EnvvarStore::environment(
    const std::string& tool) {
  auto stmt = store_.database().prepare(
      "SELECT name, value FROM envvars WHERE tool = ? ORDER BY name");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind(1, tool);
  std::vector<std::pair<std::string, std::string>> out;
  while (true) {
    auto row = stmt->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return out;
    out.emplace_back(stmt->columnText(0), stmt->columnText(1));
  }
}

}  // namespace tjf::store
