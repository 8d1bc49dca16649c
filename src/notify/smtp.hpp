// SMTP delivery with libcurl: smtp:// (plain, or STARTTLS when configured) and smtps:// (TLS from
// the first byte), with optional authentication. Blocking: run it on a worker thread
// (ThreadedMailer), never on the loop.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "notify/mailer.hpp"

namespace tjf::notify {

struct SmtpOptions {
  // smtp://host[:port][/ehlo-name] or smtps://host[:port][/ehlo-name]. Without a path, libcurl
  // introduces itself with this machine's host name.
  std::string url;
  std::string user;      // empty: no authentication
  std::string password;  // read from the operator's password file
  bool starttls = false;  // smtp:// only: require STARTTLS before anything else is sent
  std::filesystem::path ca_file;  // TLS: trust these CAs instead of the system's
  Millis connect_timeout{10'000};
  Millis total_timeout{60'000};  // one delivery, connection to QUIT
};

// Checks the options once, at start-up: a smtp:// or smtps:// URL, STARTTLS only with smtp://.
Status checkSmtpOptions(const SmtpOptions& options);

// The first line of a password file (a final newline is not part of the password).
Result<std::string> readPasswordFile(const std::filesystem::path& path);

class CurlSmtpTransport final : public MailTransport {
 public:
  // Initialises libcurl once per process (call from the main thread, before other threads).
  static Result<std::unique_ptr<CurlSmtpTransport>> create(SmtpOptions options);

  SendResult send(const OutgoingMail& mail, const std::atomic<bool>& cancel) override;

 private:
  explicit CurlSmtpTransport(SmtpOptions options) : options_(std::move(options)) {}
  SmtpOptions options_;
};

}  // namespace tjf::notify
