#include "store/sqlite.hpp"

namespace tjf::store {
namespace {

tl::unexpected<Error> sqliteError(sqlite3* db, std::string_view what) {
  return internalError("store: " + std::string(what) + ": " + sqlite3_errmsg(db));
}

}  // namespace

Statement& Statement::bind(int index, std::int64_t value) {
  sqlite3_bind_int64(stmt_, index, value);
  return *this;
}
Statement& Statement::bind(int index, std::string_view value) {
  sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  return *this;
}
Statement& Statement::bindNull(int index) {
  sqlite3_bind_null(stmt_, index);
  return *this;
}

Result<bool> Statement::step() {
  const int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return sqliteError(db_, sqlite3_sql(stmt_));
}

Status Statement::run() {
  while (true) {
    auto more = step();
    if (!more) return tl::unexpected(more.error());
    if (!*more) return {};
  }
}

std::string Statement::columnText(int i) const {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, i));
  return text ? std::string(text, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, i)))
              : std::string();
}

Result<std::unique_ptr<Database>> Database::open(const std::filesystem::path& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    return internalError("store: cannot open '" + path.string() + "': " + message);
  }
  sqlite3_busy_timeout(db, 5000);
  return std::unique_ptr<Database>(new Database(db));
}

Database::~Database() {
  for (auto& [sql, cached] : cache_) sqlite3_finalize(cached.stmt);
  sqlite3_close(db_);
}

Result<Statement> Database::prepare(std::string_view sql) {
  // Statements are compiled once and reused; one already in use (a query run inside the loop
  // over another's rows) gets a fresh statement of its own.
  auto [it, inserted] = cache_.try_emplace(std::string(sql));
  CachedStatement& cached = it->second;
  if (!cached.stmt) {
    if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                           &cached.stmt, nullptr) != SQLITE_OK) {
      cache_.erase(it);
      return sqliteError(db_, "prepare '" + std::string(sql) + "'");
    }
  }
  if (!*cached.in_use) {
    *cached.in_use = true;
    return Statement(db_, cached.stmt, cached.in_use.get());
  }
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
      SQLITE_OK) {
    return sqliteError(db_, "prepare '" + std::string(sql) + "'");
  }
  return Statement(db_, stmt);
}

Status Database::exec(std::string_view sql) {
  char* err = nullptr;
  const std::string text(sql);
  if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string message = err ? err : "unknown error";
    sqlite3_free(err);
    return internalError("store: " + text.substr(0, 60) + ": " + message);
  }
  return {};
}

}  // namespace tjf::store
