// The mail notifier's tables (src/notify): its cursor over the `events` table, the notices that
// wait for their tool's batch window, and the outbox of composed mails. Kept in the store so that
// no notification is lost across daemon restarts and a mail server that is down delays mail
// without losing it.
//
// Like Store, a MailStore is used on the daemon's loop thread only; it borrows the Store, which
// must outlive it. Callers group writes that belong together with Store::transaction().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "store/store.hpp"

namespace tjf::store {

// A run event the notifier has kept, waiting for its tool's batch window to close.
struct PendingNotice {
  std::int64_t id = 0;        // assigned by addPendingNotice
  std::int64_t event_id = 0;  // the `events` row it came from (unique)
  std::string tool;
  std::int64_t run_id = 0;
  std::string kind;  // what happened to the run ("failed", "started", ...); one per run and kind
  TimePoint queued_at{};
  std::string notice;  // the notifier's own serialisation (JSON)
};

enum class OutboxState { kQueued, kSent, kFailed };
std::string_view toString(OutboxState v);
std::optional<OutboxState> outboxStateFromString(std::string_view s);

// One composed mail. `message` is the whole RFC 5322 message (headers and body, CRLF line ends),
// built once, so every retry sends the same bytes with the same Message-ID.
struct OutboxMail {
  std::int64_t id = 0;  // assigned by enqueueMail
  std::string tool;
  std::string sender;     // envelope sender (MAIL FROM), a bare address
  std::string recipient;  // envelope recipient (RCPT TO), a bare address
  std::string subject;
  std::string message;
  TimePoint created_at{};
  OutboxState state = OutboxState::kQueued;
  int attempts = 0;  // failed attempts so far
  TimePoint next_attempt_at{};
  std::string last_error;
  std::optional<TimePoint> finished_at;  // sent or given up
};

class MailStore {
 public:
  explicit MailStore(Store& store) : db_(store.database()) {}

  // ---- The cursor over `events` --------------------------------------------------------------
  // Events with id > after_id, oldest first, at most `limit`.
  Result<std::vector<EventRecord>> eventsAfter(std::int64_t after_id, int limit);
  // The id of the newest event, 0 when there is none.
  Result<std::int64_t> lastEventId();
  // The id of the last event the notifier has looked at; nullopt before its first start.
  Result<std::optional<std::int64_t>> cursor();
  Status setCursor(std::int64_t last_event_id);

  // ---- Notices waiting for their batch ---------------------------------------------------------
  // Adds a notice. A repeat (the same event, or the same run and kind) is ignored, so reading an
  // event twice (a crash between reading and moving the cursor) never mails it twice.
  Status addPendingNotice(const PendingNotice& notice);
  // Each tool with waiting notices, and when its oldest one was queued.
  Result<std::vector<std::pair<std::string, TimePoint>>> pendingTools();
  // A tool's waiting notices, oldest first.
  Result<std::vector<PendingNotice>> pendingNotices(const std::string& tool);
  // Removes a tool's notices with id <= up_to_id (the ones just composed into a mail).
  Status removePendingNotices(const std::string& tool, std::int64_t up_to_id);

  // ---- The outbox ------------------------------------------------------------------------------
  // Queues a mail (state queued, no attempts); returns it with its id.
  Result<OutboxMail> enqueueMail(OutboxMail mail);
  // The queued mail that is due first (next_attempt_at <= now), if any.
  Result<std::optional<OutboxMail>> nextDueMail(TimePoint now);
  // When the earliest queued mail is due, if any is queued.
  Result<std::optional<TimePoint>> nextAttemptTime();
  Result<std::optional<OutboxMail>> mailById(std::int64_t id);
  // The newest `limit` mails (all states), newest first: for tests and inspection.
  Result<std::vector<OutboxMail>> recentMails(int limit);
  Status markSent(std::int64_t id, TimePoint at);
  // A failed attempt that will be retried at `next`.
  Status markDeferred(std::int64_t id, int attempts, TimePoint next, const std::string& error);
  // Given up: the mail stays in the table (state failed) until pruned.
  Status markFailed(std::int64_t id, int attempts, TimePoint at, const std::string& error);
  // Deletes sent and failed mails that finished before `before`; returns how many.
  Result<int> pruneFinished(TimePoint before);

 private:
  Database& db_;
};

}  // namespace tjf::store
