#include "store/migrations.hpp"

namespace tjf::store {

const std::vector<std::string_view>& migrations() {
  static const std::vector<std::string_view> kMigrations = {
      // 1: jobs, runs, events.
      R"sql(
      CREATE TABLE jobs (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,  -- ids are never reused
        tool        TEXT NOT NULL,
        name        TEXT NOT NULL,
        type        TEXT NOT NULL,
        spec        TEXT NOT NULL,  -- JSON of the user-set fields (model::jobSpecToJson)
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        generation  INTEGER NOT NULL DEFAULT 1,
        UNIQUE (tool, name)
      );
      -- Runs outlive their job row: deleting a job keeps its history.
      CREATE TABLE runs (
        id                INTEGER PRIMARY KEY AUTOINCREMENT,
        job_id            INTEGER NOT NULL,
        tool              TEXT NOT NULL,
        job_name          TEXT NOT NULL,
        generation        INTEGER NOT NULL,
        attempt           INTEGER NOT NULL,
        replica           INTEGER NOT NULL DEFAULT 0,
        state             TEXT NOT NULL,
        reason            TEXT NOT NULL DEFAULT '',
        message           TEXT NOT NULL DEFAULT '',
        created_at        INTEGER NOT NULL,
        not_before        INTEGER,
        started_at        INTEGER,
        finished_at       INTEGER,
        exit_code         INTEGER,
        signal            INTEGER,
        scheduled_for     INTEGER,
        stop_requested    INTEGER NOT NULL DEFAULT 0,
        shim_pid          INTEGER NOT NULL DEFAULT 0,
        shim_start_ticks  INTEGER NOT NULL DEFAULT 0,
        captured_output   INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX runs_by_job ON runs (job_id, id);
      CREATE INDEX runs_by_tool_name ON runs (tool, job_name, id);
      CREATE INDEX runs_active ON runs (state) WHERE state IN ('pending', 'running');
      -- A cron fire is identified by (job, scheduled time): a crash and a retry never start it twice.
      CREATE UNIQUE INDEX runs_one_fire ON runs (job_id, scheduled_for, replica, attempt)
        WHERE scheduled_for IS NOT NULL;
      CREATE TABLE events (
        id        INTEGER PRIMARY KEY,
        time      INTEGER NOT NULL,
        tool      TEXT NOT NULL,
        job_name  TEXT NOT NULL,
        run_id    INTEGER,
        kind      TEXT NOT NULL,
        message   TEXT NOT NULL
      );
      CREATE INDEX events_by_job ON events (tool, job_name, id);
      )sql",
      // 2: the mail notifier (src/notify, store/outbox.hpp): its cursor over `events`, the
      // notices waiting for their tool's batch window, and the outbox of composed mails.
      R"sql(
      CREATE TABLE mail_cursor (
        id             INTEGER PRIMARY KEY CHECK (id = 1),
        last_event_id  INTEGER NOT NULL
      );
      CREATE TABLE mail_pending (
        id         INTEGER PRIMARY KEY AUTOINCREMENT,
        event_id   INTEGER NOT NULL UNIQUE,
        tool       TEXT NOT NULL,
        run_id     INTEGER NOT NULL,
        kind       TEXT NOT NULL,
        queued_at  INTEGER NOT NULL,
        notice     TEXT NOT NULL,  -- JSON (notify::Notice)
        UNIQUE (run_id, kind)      -- an event read twice is mailed once
      );
      CREATE INDEX mail_pending_by_tool ON mail_pending (tool, id);
      CREATE TABLE mail_outbox (
        id               INTEGER PRIMARY KEY AUTOINCREMENT,
        tool             TEXT NOT NULL,
        sender           TEXT NOT NULL,
        recipient        TEXT NOT NULL,
        subject          TEXT NOT NULL,
        message          TEXT NOT NULL,  -- the whole RFC 5322 message, CRLF line ends
        created_at       INTEGER NOT NULL,
        state            TEXT NOT NULL,  -- queued | sent | failed
        attempts         INTEGER NOT NULL DEFAULT 0,
        next_attempt_at  INTEGER NOT NULL,
        last_error       TEXT NOT NULL DEFAULT '',
        finished_at      INTEGER
      );
      CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE state = 'queued';
      )sql",
      // 3: per-tool environment variables (`toolforge envvars`, store/envvars.hpp). Values are
      // secrets: the database file is readable by the daemon only.
      R"sql(
      CREATE TABLE envvars (
        tool        TEXT NOT NULL,
        name        TEXT NOT NULL,
        value       TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL,
        PRIMARY KEY (tool, name)
      );
      )sql",
      // 4: runs that a runtime started by itself for a placed job (a CronJob's Jobs, a
      // Deployment's pods): the runtime's name for them, so a restarted daemon finds them again.
      R"sql(
      ALTER TABLE runs ADD COLUMN external_id TEXT NOT NULL DEFAULT '';
      CREATE UNIQUE INDEX runs_external ON runs (job_id, external_id) WHERE external_id != '';
      )sql",
  };
  return kMigrations;
}

Status migrate(Database& db) {
  auto version_stmt = db.prepare("PRAGMA user_version");
  if (!version_stmt) return tl::unexpected(version_stmt.error());
  if (auto row = version_stmt->step(); !row) return tl::unexpected(row.error());
  const auto current = static_cast<std::size_t>(version_stmt->columnInt(0));
  const auto& all = migrations();
  if (current > all.size()) {
    return internalError("store: the database has schema version " + std::to_string(current) +
                         " but this tjfd knows only " + std::to_string(all.size()) +
                         "; refusing to run an older tjfd on a newer store");
  }
  if (current == all.size()) return {};
  return inTransaction(db, [&]() -> Status {
    for (std::size_t v = current; v < all.size(); ++v) {
      if (auto done = db.exec(all[v]); !done) {
        return internalError("store: migration " + std::to_string(v + 1) +
                             " failed: " + done.error().message);
      }
    }
    return db.exec("PRAGMA user_version = " + std::to_string(all.size()));
  });
}

}  // namespace tjf::store
