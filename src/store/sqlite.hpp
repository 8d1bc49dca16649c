// A thin RAII adapter over the SQLite C API. Every failure becomes an Error naming the statement.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include <type_traits>
#include <unordered_map>

#include "base/result.hpp"

namespace tjf::store {

// A prepared statement. One from Database's cache (`in_use` set) goes back to it when destroyed:
// reset and unbound, not finalized, so the next prepare of the same SQL skips compiling it.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt, bool* in_use = nullptr)
      : db_(db), stmt_(stmt), in_use_(in_use) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  Statement(Statement&& o) noexcept
      : db_(o.db_), stmt_(std::exchange(o.stmt_, nullptr)), in_use_(std::exchange(o.in_use_, nullptr)) {}
  ~Statement() {
    if (!stmt_) return;
    if (in_use_) {
      sqlite3_reset(stmt_);
      sqlite3_clear_bindings(stmt_);
      *in_use_ = false;
    } else {
      sqlite3_finalize(stmt_);
    }
  }

  // Binds are 1-based as in SQLite. Returns *this for chaining.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, int value) { return bind(index, static_cast<std::int64_t>(value)); }
  Statement& bind(int index, std::string_view value);
  Statement& bind(int index, const char* value) { return bind(index, std::string_view(value)); }
  Statement& bind(int index, const std::string& value) { return bind(index, std::string_view(value)); }
  Statement& bindNull(int index);
  template <typename T>
  Statement& bind(int index, const std::optional<T>& value) {
    return value ? bind(index, *value) : bindNull(index);
  }

  // true: a row is ready; false: done.
  Result<bool> step();
  // Runs to completion (for writes).
  Status run();

  std::int64_t columnInt(int i) const { return sqlite3_column_int64(stmt_, i); }
  std::string columnText(int i) const;
  bool columnIsNull(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }
  std::optional<std::int64_t> columnOptInt(int i) const {
    return columnIsNull(i) ? std::nullopt : std::optional<std::int64_t>(columnInt(i));
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
  bool* in_use_;  // the cache slot's flag, or null for a statement of its own
};

class Database {
 public:
  static Result<std::unique_ptr<Database>> open(const std::filesystem::path& path);
  ~Database();
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;

  Result<Statement> prepare(std::string_view sql);
  Status exec(std::string_view sql);
  std::int64_t lastInsertId() const { return sqlite3_last_insert_rowid(db_); }
  int changes() const { return sqlite3_changes(db_); }
  sqlite3* handle() const { return db_; }

 private:
  explicit Database(sqlite3* db) : db_(db) {}
  struct CachedStatement {
    sqlite3_stmt* stmt = nullptr;
    std::unique_ptr<bool> in_use = std::make_unique<bool>(false);  // stable address
  };
  sqlite3* db_;
  std::unordered_map<std::string, CachedStatement> cache_;
};

// Steps `stmt` to its end and turns each row into a T with `read`, which returns a T or a
// Result<T> (a row that cannot be read fails the whole query).
template <typename T, typename Reader>
Result<std::vector<T>> collectRows(Result<Statement>& stmt, Reader read) {
  if (!stmt) return tl::unexpected(stmt.error());
  std::vector<T> out;
  while (true) {
    auto row = stmt->step();
    if (!row) return tl::unexpected(row.error());
    if (!*row) return out;
    if constexpr (std::is_same_v<decltype(read(*stmt)), Result<T>>) {
      auto item = read(*stmt);
      if (!item) return tl::unexpected(item.error());
      out.push_back(std::move(*item));
    } else {
      out.push_back(read(*stmt));
    }
  }
}

// The first of the rows, if any.
template <typename T>
Result<std::optional<T>> firstRow(Result<std::vector<T>> all) {
  if (!all) return tl::unexpected(all.error());
  if (all->empty()) return std::optional<T>();
  return std::optional<T>(std::move(all->front()));
}

// Runs `body` inside BEGIN IMMEDIATE / COMMIT; rolls back when it returns an error.
template <typename F>
auto inTransaction(Database& db, F&& body) -> decltype(body()) {
  if (auto begun = db.exec("BEGIN IMMEDIATE"); !begun) return tl::unexpected(begun.error());
  auto result = body();
  if (!result) {
    (void)db.exec("ROLLBACK");
    return result;
  }
  if (auto committed = db.exec("COMMIT"); !committed) {
    (void)db.exec("ROLLBACK");
    return tl::unexpected(committed.error());
  }
  return result;
}

}  // namespace tjf::store
