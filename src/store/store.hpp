// The store: jobs, runs and events in SQLite (WAL). Owned by the daemon's loop thread; not
// thread-safe. Writes that belong together go through transaction() so an API call either
// happens whole or not at all.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "model/records.hpp"
#include "store/sqlite.hpp"

namespace tjf::store {

struct EventRecord {
  std::int64_t id = 0;
  TimePoint time{};
  std::string tool;
  std::string job_name;
  std::optional<std::int64_t> run_id;
  std::string kind;
  std::string message;
};

// An event from a row of "SELECT id, time, tool, job_name, run_id, kind, message FROM events".
EventRecord eventFromRow(const Statement& row);

class Store {
 public:
  // Opens (creating if needed) and migrates. The connection runs with synchronous=NORMAL (WAL):
  // every commit survives a crash of the daemon, and the engine's run bookkeeping pays no fsync.
  // Writes a client is told about (API writes) use durableWrites(), which adds the fsync that
  // makes them survive power loss too (see ARCHITECTURE.md, "Durability").
  static Result<std::unique_ptr<Store>> open(const std::filesystem::path& path);

  // While the returned guard lives, commits are synchronous=FULL. Nests.
  class DurableWrites {
   public:
    explicit DurableWrites(Store& store);
    ~DurableWrites();
    DurableWrites(const DurableWrites&) = delete;
    DurableWrites& operator=(const DurableWrites&) = delete;

   private:
    Store& store_;
  };
  [[nodiscard]] DurableWrites durableWrites() { return DurableWrites(*this); }

  template <typename F>
  auto transaction(F&& body) -> decltype(body()) {
    return inTransaction(*db_, std::forward<F>(body));
  }

  // Jobs
  Result<model::JobRecord> insertJob(const std::string& tool, const model::JobSpec& spec,
                                     TimePoint now);
  Status updateJobSpec(std::int64_t job_id, const model::JobSpec& spec, TimePoint now,
                       bool bump_generation);
  Status bumpGeneration(std::int64_t job_id, TimePoint now);
  Status deleteJob(std::int64_t job_id);
  Result<std::optional<model::JobRecord>> findJob(const std::string& tool, const std::string& name);
  Result<std::optional<model::JobRecord>> jobById(std::int64_t job_id);
  Result<std::vector<model::JobRecord>> jobsOfTool(const std::string& tool);
  Result<std::vector<model::JobRecord>> allJobs();

  // Runs
  Result<model::RunRecord> insertRun(model::RunRecord run);
  Status updateRun(const model::RunRecord& run);
  Result<std::optional<model::RunRecord>> runById(std::int64_t run_id);
  // The run a placed job's runtime knows as `external_id` (model::RunRecord::external_id).
  Result<std::optional<model::RunRecord>> runByExternalId(std::int64_t job_id,
                                                          const std::string& external_id);
  // Newest first, at most `limit`.
  Result<std::vector<model::RunRecord>> runsOfJob(std::int64_t job_id, int limit);
  Result<std::vector<model::RunRecord>> runsByName(const std::string& tool, const std::string& name,
                                                   int limit);
  Result<std::vector<model::RunRecord>> activeRuns();
  Result<std::vector<model::RunRecord>> activeRunsOfJob(std::int64_t job_id);

  // Events
  Status addEvent(const EventRecord& event);
  Result<std::vector<EventRecord>> eventsOfJob(const std::string& tool, const std::string& name,
                                               int limit);

  Database& database() { return *db_; }

 private:
  explicit Store(std::unique_ptr<Database> db) : db_(std::move(db)) {}
  std::unique_ptr<Database> db_;
  int durable_depth_ = 0;
};

}  // namespace tjf::store
