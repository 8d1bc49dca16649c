#include "notify/notifier.hpp"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "base/time_format.hpp"
#include "model/resolve.hpp"
#include "notify/stderr_tail.hpp"

namespace tjf::notify {
namespace {

constexpr int kEventPage = 256;
constexpr int kMaxPagesPerPass = 8;
constexpr Millis kPruneEvery{std::chrono::hours(1)};

bool mightBeMailed(const std::string& kind) {
  return kind == "started" || kind == "completed" || kind == "failed" || kind == "cancelled" ||
         kind == "skipped";
}

std::string seconds(Millis d) {
  const auto ms = d.count();
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1fs", static_cast<double>(ms) / 1000.0);
  return buf;
}

}  // namespace

Millis retryDelay(int failures, Millis base, Millis cap) {
  if (failures < 1) return Millis(0);
  Millis delay = base;
  for (int i = 1; i < failures && delay < cap; ++i) delay *= 2;
  return std::min(delay, cap);
}

Notifier::Notifier(boost::asio::io_context& io, store::Store& store, Mailer& mailer,
                   const Clock& clock, NotifierOptions options)
    : io_(io),
      store_(store),
      mail_(store),
      mailer_(mailer),
      clock_(clock),
      options_(std::move(options)),
      from_address_(bareAddress(options_.mail_from)),
      timer_(io) {
  const auto at = from_address_.rfind('@');
  id_domain_ = at == std::string::npos ? "tjf.invalid" : from_address_.substr(at + 1);
}

Notifier::~Notifier() { stop(); }

void Notifier::log(const std::string& message) const {
  std::fprintf(stderr, "tjfd: mail: %s\n", message.c_str());
}

Status Notifier::load() {
  auto cursor = mail_.cursor();
  if (!cursor) return tl::unexpected(cursor.error());
  if (*cursor) {
    cursor_ = **cursor;
  } else {
    auto last = mail_.lastEventId();
    if (!last) return tl::unexpected(last.error());
    if (auto ok = mail_.setCursor(*last); !ok) return ok;
    cursor_ = *last;
  }
  loaded_ = true;
  return {};
}

Status Notifier::start() {
  if (auto ok = load(); !ok) return ok;
  running_ = true;
  arm();
  return {};
}

void Notifier::stop() {
  running_ = false;
  timer_.cancel();
}

void Notifier::arm() {
  if (!running_) return;
  timer_.expires_after(options_.poll_interval);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;  // cancelled: `this` may be gone
    runOnce();
    arm();
  });
}

void Notifier::runOnce() {
  if (!loaded_) {
    if (auto ok = load(); !ok) return log("cannot read the notifier's cursor: " + ok.error().message);
  }
  if (auto ok = ingest(); !ok) log("cannot read new events: " + ok.error().message);
  if (auto ok = composeDue(); !ok) log("cannot compose mails: " + ok.error().message);
  dispatch();
  const TimePoint now = clock_.now();
  if (!last_prune_ || now - *last_prune_ >= kPruneEvery) {
    last_prune_ = now;
    auto pruned = mail_.pruneFinished(now - options_.keep_finished);
    if (!pruned) log("cannot prune the outbox: " + pruned.error().message);
  }
}

// ---- Events -> notices ---------------------------------------------------------------------

Status Notifier::ingest() {
  for (int page = 0; page < kMaxPagesPerPass; ++page) {
    auto events = mail_.eventsAfter(cursor_, kEventPage);
    if (!events) return tl::unexpected(events.error());
    if (events->empty()) return {};
    std::vector<store::PendingNotice> pending;
    for (const auto& event : *events) {
      auto notice = noticeFor(event);
      if (!notice) continue;
      pending.push_back(store::PendingNotice{.event_id = event.id,
                                             .tool = notice->tool,
                                             .run_id = notice->run_id,
                                             .kind = std::string(toString(notice->kind)),
                                             .queued_at = clock_.now(),
                                             .notice = noticeToJson(*notice).dump()});
    }
    const std::int64_t last = events->back().id;
    // The notices and the cursor move together: if this process dies before the commit, the
    // same events are read again at the next start, and the (run, kind) uniqueness of
    // mail_pending keeps a notice that did get in from being queued twice.
    auto ok = store_.transaction([&]() -> Status {
      for (const auto& p : pending) {
        if (auto added = mail_.addPendingNotice(p); !added) return added;
      }
      return mail_.setCursor(last);
    });
    if (!ok) return ok;
    cursor_ = last;
    if (static_cast<int>(events->size()) < kEventPage) return {};
  }
  return {};
}

std::optional<Notice> Notifier::noticeFor(const store::EventRecord& event) {
  if (!event.run_id || !mightBeMailed(event.kind)) return std::nullopt;
  if (clock_.now() - event.time > options_.max_event_age) return std::nullopt;
  auto job = store_.findJob(event.tool, event.job_name);
  if (!job) {
    log("event " + std::to_string(event.id) + ": " + job.error().message);
    return std::nullopt;
  }
  // A job deleted since says nothing: upstream does not mail about pods being deleted.
  if (!*job) return std::nullopt;
  const model::JobSpec& spec = (*job)->spec;
  const auto policy = spec.emails.value_or(model::EmailPolicy::kNone);
  if (policy == model::EmailPolicy::kNone) return std::nullopt;
  auto run = store_.runById(*event.run_id);
  if (!run) {
    log("event " + std::to_string(event.id) + ": " + run.error().message);
    return std::nullopt;
  }
  // A run of an older job of the same name (deleted, then created again) has no setting.
  if (!*run || (*run)->job_id != (*job)->id) return std::nullopt;
  const auto kind = classify(event.kind, **run);
  if (!kind || !keeps(policy, *kind)) return std::nullopt;
  Notice notice = makeNotice(event.tool, spec, event.id, event.time, *kind, **run);
  if (*kind == NoticeKind::kSucceeded || *kind == NoticeKind::kFailed) {
    // Read now, soon after the end: a later run of the job appends to the same log file.
    addStderrTail(notice, **run, spec);
  }
  return notice;
}

void Notifier::addStderrTail(Notice& notice, const model::RunRecord& run,
                             const model::JobSpec& spec) {
  if (run.captured_output) {
    notice.stderr_source = "captured output";
    notice.stderr_tail = capturedStderrTail(
        model::StateLayout::output(options_.layout.runDir(run.id)), options_.stderr_lines);
    return;
  }
  if (!options_.tools) return;
  auto tool = options_.tools->find(notice.tool);
  if (!tool) return;
  const auto err = model::resolveLogPath(spec.filelog_stderr.value_or(spec.name + ".err"), *tool);
  const auto out = model::resolveLogPath(spec.filelog_stdout.value_or(spec.name + ".out"), *tool);
  if (err == "/dev/null") return;
  auto tail = fileTail(err, options_.stderr_lines,
                       options_.check_log_owner ? std::optional<uid_t>(tool->uid) : std::nullopt);
  if (!tail.readable) return;
  notice.stderr_source = model::displayPath(err, *tool);
  notice.stderr_merged = err == out;
  notice.stderr_tail = std::move(tail.lines);
}

// ---- Notices -> outbox ---------------------------------------------------------------------

Status Notifier::composeDue() {
  auto tools = mail_.pendingTools();
  if (!tools) return tl::unexpected(tools.error());
  const TimePoint now = clock_.now();
  for (const auto& [tool, oldest] : *tools) {
    if (now - oldest < options_.batch_window) continue;
    auto rows = mail_.pendingNotices(tool);
    if (!rows) return tl::unexpected(rows.error());
    if (rows->empty()) continue;
    std::vector<Notice> notices;
    for (const auto& row : *rows) {
      Result<Notice> notice = internalError("unparsable");
      try {
        notice = noticeFromJson(nlohmann::json::parse(row.notice));
      } catch (const nlohmann::json::exception& e) {
        notice = internalError(e.what());
      }
      if (!notice) {
        log("dropping the unreadable notice of event " + std::to_string(row.event_id) + ": " +
            notice.error().message);
        continue;
      }
      notices.push_back(std::move(*notice));
    }
    const std::int64_t up_to = rows->back().id;
    auto ok = store_.transaction([&]() -> Status {
      if (!notices.empty()) {
        const ComposedMail composed = composeMail(tool, notices, options_.compose);
        const std::string to = renderAddress(options_.to, tool);
        // Unique per batch (an event is in one batch only) and the same on every retry.
        const std::string message_id = "tjf." + tool + "." +
                                       std::to_string(notices.front().event_id) + "." +
                                       std::to_string(toUnixMillis(now)) + "@" + id_domain_;
        const std::string message = renderMessage({.from = options_.mail_from,
                                                    .to = to,
                                                    .subject = composed.subject,
                                                    .message_id = message_id,
                                                    .date = now},
                                                   composed.body);
        auto queued = mail_.enqueueMail(store::OutboxMail{.tool = tool,
                                                          .sender = from_address_,
                                                          .recipient = to,
                                                          .subject = composed.subject,
                                                          .message = message,
                                                          .created_at = now});
        if (!queued) return tl::unexpected(queued.error());
      }
      // Composed and removed in one transaction: a crash leaves either the notices or the mail.
      return mail_.removePendingNotices(tool, up_to);
    });
    if (!ok) return ok;
  }
  return {};
}

// ---- Outbox -> mail server -----------------------------------------------------------------

void Notifier::dispatch() {
  if (in_flight_) return;
  const TimePoint now = clock_.now();
  if (server_failures_ > 0 && now < server_retry_at_) return;
  auto due = mail_.nextDueMail(now);
  if (!due) return log("cannot read the outbox: " + due.error().message);
  if (!*due) return;
  in_flight_ = true;
  const store::OutboxMail mail = **due;
  mailer_.send(OutgoingMail{.id = mail.id,
                            .sender = mail.sender,
                            .recipient = mail.recipient,
                            .message = mail.message},
               [this, alive = std::weak_ptr<int>(alive_), mail](const SendResult& result) {
                 if (alive.expired()) return;
                 onSent(mail, result);
               });
}

void Notifier::onSent(const store::OutboxMail& mail, const SendResult& result) {
  in_flight_ = false;
  const TimePoint now = clock_.now();
  const std::string what = "mail " + std::to_string(mail.id) + " to '" + mail.recipient + "'";
  const int attempts = mail.attempts + 1;
  // If this process dies before the row is updated, the mail is sent again at the next start:
  // delivery is at least once, and the repeat carries the same Message-ID.
  if (result.ok) {
    server_failures_ = 0;
    if (auto ok = mail_.markSent(mail.id, now); !ok) log("cannot record " + what + ": " + ok.error().message);
    log(what + " sent: " + mail.subject);
  } else if (result.permanent) {
    // The server works but refuses this mail: the others still go.
    server_failures_ = 0;
    if (auto ok = mail_.markFailed(mail.id, attempts, now, result.error); !ok) {
      log("cannot record " + what + ": " + ok.error().message);
    }
    log(what + " refused, not retried: " + result.error);
  } else {
    ++server_failures_;
    const Millis server_delay =
        retryDelay(server_failures_, options_.retry_base, options_.retry_cap);
    server_retry_at_ = now + server_delay;
    if (now - mail.created_at >= options_.give_up_after) {
      if (auto ok = mail_.markFailed(mail.id, attempts, now, result.error); !ok) {
        log("cannot record " + what + ": " + ok.error().message);
      }
      log(what + " given up after " + std::to_string(attempts) + " attempts: " + result.error);
    } else {
      const Millis delay = retryDelay(attempts, options_.retry_base, options_.retry_cap);
      if (auto ok = mail_.markDeferred(mail.id, attempts, now + delay, result.error); !ok) {
        log("cannot record " + what + ": " + ok.error().message);
      }
      log(what + " deferred (attempt " + std::to_string(attempts) + ", next in " +
          seconds(std::max(delay, server_delay)) + "): " + result.error);
    }
  }
  // The next mail goes now, not at the next tick, unless the server is in back-off.
  dispatch();
}

}  // namespace tjf::notify
