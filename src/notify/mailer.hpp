// Sending mail without blocking the loop. The notifier talks to a Mailer (asynchronous: the
// result comes back on the loop thread); the daemon's Mailer is a ThreadedMailer, which runs a
// blocking MailTransport (libcurl SMTP, smtp.hpp) on one worker thread of its own.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace tjf::notify {

struct OutgoingMail {
  std::int64_t id = 0;    // the outbox row, for messages
  std::string sender;     // envelope sender, a bare address
  std::string recipient;  // envelope recipient, a bare address
  std::string message;    // the whole RFC 5322 message, CRLF line ends
};

struct SendResult {
  bool ok = false;
  // The server refused this mail for good (a 5xx reply other than one about authentication or
  // TLS): retrying the same bytes would fail the same way.
  bool permanent = false;
  std::string error;  // for a person: what failed, with the server's reply code if any
};

// Blocking delivery of one mail. Called from one thread at a time; `cancel` becoming true asks
// an ongoing delivery to give up soon (daemon shutdown), with a transient error.
class MailTransport {
 public:
  virtual ~MailTransport() = default;
  virtual SendResult send(const OutgoingMail& mail, const std::atomic<bool>& cancel) = 0;
};

// Asynchronous delivery. Contract: send() is called on the loop thread; `done` is called on the
// loop thread, exactly once per send, later (never from inside send()), unless the Mailer is
// destroyed first, in which case it is never called.
class Mailer {
 public:
  using Done = std::function<void(const SendResult&)>;
  virtual ~Mailer() = default;
  virtual void send(OutgoingMail mail, Done done) = 0;
};

// Runs a MailTransport on one worker thread, in the order of send(); posts each result to the
// io_context. Destruction cancels the delivery in progress, drops the queue and joins the
// thread; results not yet run by the io_context are dropped with it (destroy the ThreadedMailer
// before the io_context, and the code that receives results before the ThreadedMailer, or
// guard the callbacks).
class ThreadedMailer final : public Mailer {
 public:
  ThreadedMailer(boost::asio::io_context& io, std::unique_ptr<MailTransport> transport);
  ~ThreadedMailer() override;
  ThreadedMailer(const ThreadedMailer&) = delete;
  ThreadedMailer& operator=(const ThreadedMailer&) = delete;

  void send(OutgoingMail mail, Done done) override;

 private:
  struct Item {
    OutgoingMail mail;
    Done done;
  };
  void work();

  boost::asio::io_context& io_;
  std::unique_ptr<MailTransport> transport_;  // used on the worker thread only
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Item> queue_;  // guarded by mu_
  bool stopping_ = false;   // guarded by mu_
  std::atomic<bool> cancel_{false};
  // Set at construction, reset by the destructor (loop thread); see work().
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
  const std::weak_ptr<int> alive_weak_ = alive_;  // what the worker reads: never reassigned
  // Last: started when everything above exists, joined before any of it goes.
  std::thread worker_;
};

}  // namespace tjf::notify
