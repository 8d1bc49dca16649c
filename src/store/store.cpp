#include "store/store.hpp"

#include <nlohmann/json.hpp>

#include "base/time_format.hpp"
#include "store/migrations.hpp"

namespace tjf::store {
namespace {

using model::JobRecord;
using model::RunRecord;

constexpr const char* kJobColumns = "id, tool, spec, created_at, updated_at, generation";
constexpr const char* kRunColumns =
    "id, job_id, tool, job_name, generation, attempt, replica, state, reason, message, "
    "created_at, not_before, started_at, finished_at, exit_code, signal, scheduled_for, "
    "stop_requested, shim_pid, shim_start_ticks, captured_output, external_id";

std::optional<std::int64_t> millisOf(const std::optional<TimePoint>& t) {
  return t ? std::optional<std::int64_t>(toUnixMillis(*t)) : std::nullopt;
}
std::optional<TimePoint> timeOf(const std::optional<std::int64_t>& ms) {
  return ms ? std::optional<TimePoint>(fromUnixMillis(*ms)) : std::nullopt;
}

Result<JobRecord> readJob(const Statement& s) {
  JobRecord job;
  job.id = s.columnInt(0);
  job.tool = s.columnText(1);
  try {
    auto spec = model::jobSpecFromJson(nlohmann::json::parse(s.columnText(2)), nullptr);
    if (!spec) {
      return internalError("store: job " + std::to_string(job.id) +
                           " has an unreadable definition: " + spec.error().message);
    }
    job.spec = std::move(*spec);
  } catch (const nlohmann::json::exception& e) {
    return internalError("store: job " + std::to_string(job.id) + " has invalid JSON: " + e.what());
  }
  job.created_at = fromUnixMillis(s.columnInt(3));
  job.updated_at = fromUnixMillis(s.columnInt(4));
  job.generation = s.columnInt(5);
  return job;
}

RunRecord readRun(const Statement& s) {
  RunRecord r;
  r.id = s.columnInt(0);
  r.job_id = s.columnInt(1);
  r.tool = s.columnText(2);
  r.job_name = s.columnText(3);
  r.generation = s.columnInt(4);
  r.attempt = static_cast<int>(s.columnInt(5));
  r.replica = static_cast<int>(s.columnInt(6));
  r.state = model::runStateFromString(s.columnText(7)).value_or(model::RunState::kLost);
  r.reason = model::runReasonFromString(s.columnText(8)).value_or(model::RunReason::kNone);
  r.message = s.columnText(9);
  r.created_at = fromUnixMillis(s.columnInt(10));
  r.not_before = timeOf(s.columnOptInt(11));
  r.started_at = timeOf(s.columnOptInt(12));
  r.finished_at = timeOf(s.columnOptInt(13));
  if (auto v = s.columnOptInt(14)) r.exit_code = static_cast<int>(*v);
  if (auto v = s.columnOptInt(15)) r.signal = static_cast<int>(*v);
  r.scheduled_for = timeOf(s.columnOptInt(16));
  r.stop_requested = s.columnInt(17) != 0;
  r.shim_pid = s.columnInt(18);
  r.shim_start_ticks = s.columnInt(19);
  r.captured_output = s.columnInt(20) != 0;
  r.external_id = s.columnText(21);
  return r;
}

}  // namespace

EventRecord eventFromRow(const Statement& s) {
  EventRecord e;
  e.id = s.columnInt(0);
  e.time = fromUnixMillis(s.columnInt(1));
  e.tool = s.columnText(2);
  e.job_name = s.columnText(3);
  e.run_id = s.columnOptInt(4);
  e.kind = s.columnText(5);
  e.message = s.columnText(6);
  return e;
}

Result<std::unique_ptr<Store>> Store::open(const std::filesystem::path& path) {
  auto db = Database::open(path);
  if (!db) return tl::unexpected(db.error());
  for (const char* pragma : {"PRAGMA journal_mode = WAL", "PRAGMA synchronous = NORMAL",
                             "PRAGMA foreign_keys = ON", "PRAGMA temp_store = MEMORY"}) {
    if (auto ok = (*db)->exec(pragma); !ok) return tl::unexpected(ok.error());
  }
  if (auto ok = migrate(**db); !ok) return tl::unexpected(ok.error());
  return std::unique_ptr<Store>(new Store(std::move(*db)));
}

Store::DurableWrites::DurableWrites(Store& store) : store_(store) {
  if (store_.durable_depth_++ == 0) (void)store_.db_->exec("PRAGMA synchronous = FULL");
}

Store::DurableWrites::~DurableWrites() {
  if (--store_.durable_depth_ == 0) (void)store_.db_->exec("PRAGMA synchronous = NORMAL");
}

Result<JobRecord> Store::insertJob(const std::string& tool, const model::JobSpec& spec,
                                   TimePoint now) {
  auto stmt = db_->prepare(
      "INSERT INTO jobs (tool, name, type, spec, created_at, updated_at) VALUES (?,?,?,?,?,?)");
  if (!stmt) return tl::unexpected(stmt.error());
  const auto ms = toUnixMillis(now);
  stmt->bind(1, tool).bind(2, spec.name).bind(3, model::toString(spec.type))
      .bind(4, model::jobSpecToJson(spec).dump()).bind(5, ms).bind(6, ms);
  if (auto ok = stmt->run(); !ok) return tl::unexpected(ok.error());
  JobRecord job;
  job.id = db_->lastInsertId();
  job.tool = tool;
  job.spec = spec;
  job.created_at = job.updated_at = fromUnixMillis(ms);
  return job;
}

Status Store::updateJobSpec(std::int64_t job_id, const model::JobSpec& spec, TimePoint now,
                            bool bump_generation) {
  auto stmt = db_->prepare(
      "UPDATE jobs SET type = ?, spec = ?, updated_at = ?, generation = generation + ? "
      "WHERE id = ?");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind(1, model::toString(spec.type)).bind(2, model::jobSpecToJson(spec).dump())
      .bind(3, toUnixMillis(now)).bind(4, bump_generation ? 1 : 0).bind(5, job_id);
  return stmt->run();
}

Status Store::bumpGeneration(std::int64_t job_id, TimePoint now) {
  auto stmt = db_->prepare(
      "UPDATE jobs SET generation = generation + 1, updated_at = ? WHERE id = ?");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind(1, toUnixMillis(now)).bind(2, job_id);
  return stmt->run();
}

Status Store::deleteJob(std::int64_t job_id) {
  auto stmt = db_->prepare("DELETE FROM jobs WHERE id = ?");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind(1, job_id);
  return stmt->run();
}

Result<std::optional<JobRecord>> Store::findJob(const std::string& tool, const std::string& name) {
  auto stmt = db_->prepare(std::string("SELECT ") + kJobColumns +
                           " FROM jobs WHERE tool = ? AND name = ?");
  if (stmt) stmt->bind(1, tool).bind(2, name);
  return firstRow(collectRows<JobRecord>(stmt, readJob));
}

Result<std::optional<JobRecord>> Store::jobById(std::int64_t job_id) {
  auto stmt = db_->prepare(std::string("SELECT ") + kJobColumns + " FROM jobs WHERE id = ?");
  if (stmt) stmt->bind(1, job_id);
  return firstRow(collectRows<JobRecord>(stmt, readJob));
}

Result<std::vector<JobRecord>> Store::jobsOfTool(const std::string& tool) {
  auto stmt = db_->prepare(std::string("SELECT ") + kJobColumns +
                           " FROM jobs WHERE tool = ? ORDER BY name");
  if (stmt) stmt->bind(1, tool);
  return collectRows<JobRecord>(stmt, readJob);
}

Result<std::vector<JobRecord>> Store::allJobs() {
  auto stmt = db_->prepare(std::string("SELECT ") + kJobColumns + " FROM jobs ORDER BY id");
  return collectRows<JobRecord>(stmt, readJob);
}

Result<RunRecord> Store::insertRun(RunRecord run) {
  auto stmt = db_->prepare(
      "INSERT INTO runs (job_id, tool, job_name, generation, attempt, replica, state, reason, "
      "message, created_at, not_before, started_at, finished_at, exit_code, signal, "
      "scheduled_for, stop_requested, shim_pid, shim_start_ticks, captured_output, external_id) "
      "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind(1, run.job_id).bind(2, run.tool).bind(3, run.job_name).bind(4, run.generation)
      .bind(5, run.attempt).bind(6, run.replica).bind(7, model::toString(run.state))
      .bind(8, model::toString(run.reason)).bind(9, run.message)
      .bind(10, toUnixMillis(run.created_at)).bind(11, millisOf(run.not_before))
      .bind(12, millisOf(run.started_at)).bind(13, millisOf(run.finished_at))
      .bind(14, run.exit_code).bind(15, run.signal).bind(16, millisOf(run.scheduled_for))
      .bind(17, run.stop_requested ? 1 : 0).bind(18, run.shim_pid).bind(19, run.shim_start_ticks)
      .bind(20, run.captured_output ? 1 : 0).bind(21, run.external_id);
  if (auto ok = stmt->run(); !ok) return tl::unexpected(ok.error());
  run.id = db_->lastInsertId();
  return run;
}

Status Store::updateRun(const RunRecord& run) {
  auto stmt = db_->prepare(
      "UPDATE runs SET state = ?, reason = ?, message = ?, not_before = ?, started_at = ?, "
      "finished_at = ?, exit_code = ?, signal = ?, stop_requested = ?, shim_pid = ?, "
      "shim_start_ticks = ?, captured_output = ? WHERE id = ?");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind(1, model::toString(run.state)).bind(2, model::toString(run.reason))
      .bind(3, run.message).bind(4, millisOf(run.not_before)).bind(5, millisOf(run.started_at))
      .bind(6, millisOf(run.finished_at)).bind(7, run.exit_code).bind(8, run.signal)
      .bind(9, run.stop_requested ? 1 : 0).bind(10, run.shim_pid).bind(11, run.shim_start_ticks)
      .bind(12, run.captured_output ? 1 : 0).bind(13, run.id);
  return stmt->run();
}

Result<std::optional<RunRecord>> Store::runById(std::int64_t run_id) {
  auto stmt = db_->prepare(std::string("SELECT ") + kRunColumns + " FROM runs WHERE id = ?");
  if (stmt) stmt->bind(1, run_id);
  return firstRow(collectRows<RunRecord>(stmt, readRun));
}

Result<std::optional<RunRecord>> Store::runByExternalId(std::int64_t job_id,
                                                      const std::string& external_id) {
  auto stmt = db_->prepare(std::string("SELECT ") + kRunColumns +
                           " FROM runs WHERE job_id = ? AND external_id = ? AND external_id != ''");
  if (stmt) stmt->bind(1, job_id).bind(2, external_id);
  return firstRow(collectRows<RunRecord>(stmt, readRun));
}

Result<std::vector<RunRecord>> Store::runsOfJob(std::int64_t job_id, int limit) {
  auto stmt = db_->prepare(std::string("SELECT ") + kRunColumns +
                           " FROM runs WHERE job_id = ? ORDER BY id DESC LIMIT ?");
  if (stmt) stmt->bind(1, job_id).bind(2, limit);
  return collectRows<RunRecord>(stmt, readRun);
}

Result<std::vector<RunRecord>> Store::runsByName(const std::string& tool, const std::string& name,
                                                 int limit) {
  auto stmt = db_->prepare(std::string("SELECT ") + kRunColumns +
                           " FROM runs WHERE tool = ? AND job_name = ? ORDER BY id DESC LIMIT ?");
  if (stmt) stmt->bind(1, tool).bind(2, name).bind(3, limit);
  return collectRows<RunRecord>(stmt, readRun);
}

Result<std::vector<RunRecord>> Store::activeRuns() {
  auto stmt = db_->prepare(std::string("SELECT ") + kRunColumns +
                           " FROM runs WHERE state IN ('pending', 'running') ORDER BY id");
  return collectRows<RunRecord>(stmt, readRun);
}

Result<std::vector<RunRecord>> Store::activeRunsOfJob(std::int64_t job_id) {
  auto stmt = db_->prepare(std::string("SELECT ") + kRunColumns +
                           " FROM runs WHERE job_id = ? AND state IN ('pending', 'running') "
                           "ORDER BY id");
  if (stmt) stmt->bind(1, job_id);
  return collectRows<RunRecord>(stmt, readRun);
}

Status Store::addEvent(const EventRecord& e) {
  auto stmt = db_->prepare(
      "INSERT INTO events (time, tool, job_name, run_id, kind, message) VALUES (?,?,?,?,?,?)");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind(1, toUnixMillis(e.time)).bind(2, e.tool).bind(3, e.job_name).bind(4, e.run_id)
      .bind(5, e.kind).bind(6, e.message);
  return stmt->run();
}

Result<std::vector<EventRecord>> Store::eventsOfJob(const std::string& tool,
                                                    const std::string& name, int limit) {
  auto stmt = db_->prepare(
      "SELECT id, time, tool, job_name, run_id, kind, message FROM events "
      "WHERE tool = ? AND job_name = ? ORDER BY id DESC LIMIT ?");
  if (stmt) stmt->bind(1, tool).bind(2, name).bind(3, limit);
  return collectRows<EventRecord>(stmt, eventFromRow);
}

}  // namespace tjf::store
