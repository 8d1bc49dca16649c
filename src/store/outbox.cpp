#include "store/outbox.hpp"

#include <array>
#include <utility>

#include "base/time_format.hpp"

namespace tjf::store {
namespace {

constexpr std::array<std::pair<OutboxState, std::string_view>, 3> kOutboxStates{{
    {OutboxState::kQueued, "queued"}, {OutboxState::kSent, "sent"},
    {OutboxState::kFailed, "failed"}}};

constexpr const char* kMailColumns =
    "id, tool, sender, recipient, subject, message, created_at, state, attempts, "
    "next_attempt_at, last_error, finished_at";

OutboxMail readMail(const Statement& s) {
  OutboxMail m;
  m.id = s.columnInt(0);
  m.tool = s.columnText(1);
  m.sender = s.columnText(2);
  m.recipient = s.columnText(3);
  m.subject = s.columnText(4);
  m.message = s.columnText(5);
  m.created_at = fromUnixMillis(s.columnInt(6));
  m.state = outboxStateFromString(s.columnText(7)).value_or(OutboxState::kFailed);
  m.attempts = static_cast<int>(s.columnInt(8));
  m.next_attempt_at = fromUnixMillis(s.columnInt(9));
  m.last_error = s.columnText(10);
  if (auto v = s.columnOptInt(11)) m.finished_at = fromUnixMillis(*v);
  return m;
}

}  // namespace

std::string_view toString(OutboxState v) {
  for (const auto& [value, name] : kOutboxStates) {
    if (value == v) return name;
  }
  return "unknown";
}

std::optional<OutboxState> outboxStateFromString(std::string_view s) {
  for (const auto& [value, name] : kOutboxStates) {
    if (name == s) return value;
  }
  return std::nullopt;
}

Result<std::vector<EventRecord>> MailStore::eventsAfter(std::int64_t after_id, int limit) {
  auto stmt = db_.prepare(
      "SELECT id, time, tool, job_name, run_id, kind, message FROM events WHERE id > ? "
      "ORDER BY id LIMIT ?");
  if (stmt) stmt->bind(1, after_id).bind(2, limit);
  return collectRows<EventRecord>(stmt, eventFromRow);
}

Result<std::int64_t> MailStore::lastEventId() {
  auto stmt = db_.prepare("SELECT COALESCE(MAX(id), 0) FROM events");
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto row = stmt->step(); !row) return tl::unexpected(row.error());
  return stmt->columnInt(0);
}

Result<std::optional<std::int64_t>> MailStore::cursor() {
  auto stmt = db_.prepare("SELECT last_event_id FROM mail_cursor WHERE id = 1");
  return firstRow(collectRows<std::int64_t>(stmt, [](const Statement& s) { return s.columnInt(0); }));
}

Status MailStore::setCursor(std::int64_t last_event_id) {
  auto stmt = db_.prepare(
      "INSERT INTO mail_cursor (id, last_event_id) VALUES (1, ?) "
      "ON CONFLICT (id) DO UPDATE SET last_event_id = excluded.last_event_id");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind(1, last_event_id);
  return stmt->run();
}

Status MailStore::addPendingNotice(const PendingNotice& n) {
  auto stmt = db_.prepare(
      "INSERT OR IGNORE INTO mail_pending (event_id, tool, run_id, kind, queued_at, notice) "
      "VALUES (?,?,?,?,?,?)");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind(1, n.event_id).bind(2, n.tool).bind(3, n.run_id).bind(4, n.kind)
      .bind(5, toUnixMillis(n.queued_at)).bind(6, n.notice);
  return stmt->run();
}

Result<std::vector<std::pair<std::string, TimePoint>>> MailStore::pendingTools() {
  auto stmt = db_.prepare(
      "SELECT tool, MIN(queued_at) FROM mail_pending GROUP BY tool ORDER BY MIN(queued_at), tool");
  return collectRows<std::pair<std::string, TimePoint>>(stmt, [](const Statement& s) {
    return std::make_pair(s.columnText(0), fromUnixMillis(s.columnInt(1)));
  });
}

Result<std::vector<PendingNotice>> MailStore::pendingNotices(const std::string& tool) {
  auto stmt = db_.prepare(
      "SELECT id, event_id, tool, run_id, kind, queued_at, notice FROM mail_pending "
      "WHERE tool = ? ORDER BY id");
  if (stmt) stmt->bind(1, tool);
  return collectRows<PendingNotice>(stmt, [](const Statement& s) {
    PendingNotice n;
    n.id = s.columnInt(0);
    n.event_id = s.columnInt(1);
    n.tool = s.columnText(2);
    n.run_id = s.columnInt(3);
    n.kind = s.columnText(4);
    n.queued_at = fromUnixMillis(s.columnInt(5));
    n.notice = s.columnText(6);
    return n;
  });
}

Status MailStore::removePendingNotices(const std::string& tool, std::int64_t up_to_id) {
  auto stmt = db_.prepare("DELETE FROM mail_pending WHERE tool = ? AND id <= ?");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind(1, tool).bind(2, up_to_id);
  return stmt->run();
}

Result<OutboxMail> MailStore::enqueueMail(OutboxMail m) {
  auto stmt = db_.prepare(
      "INSERT INTO mail_outbox (tool, sender, recipient, subject, message, created_at, state, "
      "attempts, next_attempt_at, last_error) VALUES (?,?,?,?,?,?,'queued',0,?,'')");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind(1, m.tool).bind(2, m.sender).bind(3, m.recipient).bind(4, m.subject)
      .bind(5, m.message).bind(6, toUnixMillis(m.created_at)).bind(7, toUnixMillis(m.created_at));
  if (auto ok = stmt->run(); !ok) return tl::unexpected(ok.error());
  m.id = db_.lastInsertId();
  m.state = OutboxState::kQueued;
  m.attempts = 0;
  m.next_attempt_at = fromUnixMillis(toUnixMillis(m.created_at));
  m.created_at = m.next_attempt_at;
  m.last_error.clear();
  m.finished_at.reset();
  return m;
}

Result<std::optional<OutboxMail>> MailStore::nextDueMail(TimePoint now) {
  auto stmt = db_.prepare(std::string("SELECT ") + kMailColumns +
                          " FROM mail_outbox WHERE state = 'queued' AND next_attempt_at <= ? "
                          "ORDER BY next_attempt_at, id LIMIT 1");
  if (stmt) stmt->bind(1, toUnixMillis(now));
  return firstRow(collectRows<OutboxMail>(stmt, readMail));
}

Result<std::optional<TimePoint>> MailStore::nextAttemptTime() {
  auto stmt = db_.prepare("SELECT MIN(next_attempt_at) FROM mail_outbox WHERE state = 'queued'");
  if (!stmt) return tl::unexpected(stmt.error());
  if (auto row = stmt->step(); !row) return tl::unexpected(row.error());
  if (stmt->columnIsNull(0)) return std::optional<TimePoint>();
  return std::optional<TimePoint>(fromUnixMillis(stmt->columnInt(0)));
}

Result<std::optional<OutboxMail>> MailStore::mailById(std::int64_t id) {
  auto stmt = db_.prepare(std::string("SELECT ") + kMailColumns + " FROM mail_outbox WHERE id = ?");
  if (stmt) stmt->bind(1, id);
  return firstRow(collectRows<OutboxMail>(stmt, readMail));
}

Result<std::vector<OutboxMail>> MailStore::recentMails(int limit) {
  auto stmt = db_.prepare(std::string("SELECT ") + kMailColumns +
                          " FROM mail_outbox ORDER BY id DESC LIMIT ?");
  if (stmt) stmt->bind(1, limit);
  return collectRows<OutboxMail>(stmt, readMail);
}

Status MailStore::markSent(std::int64_t id, TimePoint at) {
  auto stmt = db_.prepare(
      "UPDATE mail_outbox SET state = 'sent', finished_at = ?, last_error = '' WHERE id = ?");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind(1, toUnixMillis(at)).bind(2, id);
  return stmt->run();
}

Status MailStore::markDeferred(std::int64_t id, int attempts, TimePoint next,
                               const std::string& error) {
  auto stmt = db_.prepare(
      "UPDATE mail_outbox SET attempts = ?, next_attempt_at = ?, last_error = ? "
      "WHERE id = ? AND state = 'queued'");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind(1, attempts).bind(2, toUnixMillis(next)).bind(3, error).bind(4, id);
  return stmt->run();
}

Status MailStore::markFailed(std::int64_t id, int attempts, TimePoint at,
                             const std::string& error) {
  auto stmt = db_.prepare(
      "UPDATE mail_outbox SET state = 'failed', attempts = ?, finished_at = ?, last_error = ? "
      "WHERE id = ?");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind(1, attempts).bind(2, toUnixMillis(at)).bind(3, error).bind(4, id);
  return stmt->run();
}

Result<int> MailStore::pruneFinished(TimePoint before) {
  auto stmt = db_.prepare(
      "DELETE FROM mail_outbox WHERE state != 'queued' AND finished_at IS NOT NULL "
      "AND finished_at < ?");
  if (!stmt) return tl::unexpected(stmt.error());
  stmt->bind(1, toUnixMillis(before));
  if (auto ok = stmt->run(); !ok) return tl::unexpected(ok.error());
  return db_.changes();
}

}  // namespace tjf::store
