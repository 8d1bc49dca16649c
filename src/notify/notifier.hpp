// The notifier: turns the engine's run events into mails. It reads new rows of the store's
// `events` table after a cursor kept in the store, keeps the ones the job's `--emails` setting
// asks for (notice.hpp), waits for each tool's batch window to close, composes one mail per tool
// (compose.hpp) into the outbox, and hands due mails to a Mailer, retrying with exponential
// back-off while the mail server is down. Every step is a store transaction, so a daemon restart
// loses nothing and mails nothing twice (see the crash-window comments in notifier.cpp); the
// engine needs no hook.
//
// Runs on the loop thread, like the store it shares with the engine. Nothing here blocks: the
// Mailer delivers on its own thread, and the only files read are the tails of the runs' stderr.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <memory>
#include <optional>
#include <string>

#include "base/clock.hpp"
#include "model/state_paths.hpp"
#include "model/tool.hpp"
#include "notify/compose.hpp"
#include "notify/mailer.hpp"
#include "notify/notice.hpp"
#include "store/outbox.hpp"
#include "store/store.hpp"

namespace tjf::notify {

struct NotifierOptions {
  model::StateLayout layout{"/nonexistent"};
  const model::ToolDirectory* tools = nullptr;  // for log paths and owners; must outlive us
  std::string mail_from = "noreply@toolforge.org";  // the From header ("Name <addr>" or addr)
  AddressTemplate to;
  // A tool's mail goes out this long after its oldest waiting event (0: at the next pass).
  Millis batch_window{60'000};
  Millis poll_interval{1'000};  // how often the timer runs a pass
  // Delivery retries: base, doubling per failed attempt, capped; a mail still undelivered this
  // long after it was composed is given up (kept in the outbox as failed until pruned).
  Millis retry_base{30'000};
  Millis retry_cap{3'600'000};
  Millis give_up_after{std::chrono::hours(72)};
  Millis keep_finished{std::chrono::hours(168)};  // sent and failed rows
  // Events older than this when first read are not mailed (email was just switched on after a
  // long time off: the history is not news).
  Millis max_event_age{std::chrono::hours(24)};
  std::size_t stderr_lines = 20;
  ComposeOptions compose;
  // Read a tool's log files only when the tool owns them (set when the daemon runs as root).
  bool check_log_owner = false;
};

// The delay after the n-th consecutive failure (n >= 1): base, 2 base, 4 base, ... capped.
Millis retryDelay(int failures, Millis base, Millis cap);

class Notifier {
 public:
  // `store`, `mailer` and `clock` must outlive the Notifier; destroy the Notifier before the
  // Mailer (results for a destroyed Notifier are dropped).
  Notifier(boost::asio::io_context& io, store::Store& store, Mailer& mailer, const Clock& clock,
           NotifierOptions options);
  ~Notifier();
  Notifier(const Notifier&) = delete;
  Notifier& operator=(const Notifier&) = delete;

  // Loads the cursor; on the very first start there is none, and it is set to the newest
  // event, so what happened before email was configured is not mailed. Call before the engine
  // records events (before Engine::recover).
  Status load();
  // load(), then a pass every poll_interval on the loop.
  Status start();
  void stop();

  // One pass, as the timer runs it: read new events into notices, compose the batches whose
  // window has closed, and hand the next due mail to the mailer (when none is in flight and the
  // server is not in back-off). Public for tests, which drive it with a ManualClock.
  void runOnce();

  bool sending() const { return in_flight_; }
  std::int64_t cursor() const { return cursor_; }

 private:
  Status ingest();
  Status composeDue();
  void dispatch();
  void onSent(const store::OutboxMail& mail, const SendResult& result);
  std::optional<Notice> noticeFor(const store::EventRecord& event);
  void addStderrTail(Notice& notice, const model::RunRecord& run, const model::JobSpec& spec);
  void arm();
  void log(const std::string& message) const;

  boost::asio::io_context& io_;
  store::Store& store_;
  store::MailStore mail_;
  Mailer& mailer_;
  const Clock& clock_;
  NotifierOptions options_;
  std::string from_address_;  // bare address of mail_from, the envelope sender
  std::string id_domain_;     // for Message-IDs
  std::int64_t cursor_ = 0;
  bool loaded_ = false;
  bool in_flight_ = false;
  // The server's back-off, shared by all mails: after a transient failure, nothing is sent
  // before server_retry_at_ (in memory: a restarted daemon tries at once).
  int server_failures_ = 0;
  TimePoint server_retry_at_{};
  std::optional<TimePoint> last_prune_;
  boost::asio::steady_timer timer_;
  bool running_ = false;
  // Callbacks from the mailer hold a weak reference: a result that arrives after the Notifier
  // is gone is dropped.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace tjf::notify
