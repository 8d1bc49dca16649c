// The ThreadedMailer's contract, and the libcurl SMTP transport against loopback servers that
// refuse connections or refuse the recipient.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <thread>

#include "base/unique_fd.hpp"
#include "notify/mailer.hpp"
#include "notify/smtp.hpp"

namespace tjf::notify {
namespace {

using ::testing::HasSubstr;

// Delivers by recording; the third mail waits until it is cancelled.
class FakeTransport final : public MailTransport {
 public:
  explicit FakeTransport(std::vector<std::string>* seen) : seen_(seen) {}
  SendResult send(const OutgoingMail& mail, const std::atomic<bool>& cancel) override {
    seen_->push_back(mail.recipient);  // only this thread writes until it is joined
    if (mail.recipient == "block") {
      cancel.wait(false);
      return SendResult{.error = "cancelled"};
    }
    return SendResult{.ok = mail.recipient != "bad", .error = mail.recipient == "bad" ? "no" : ""};
  }

 private:
  std::vector<std::string>* seen_;
};

TEST(ThreadedMailerTest, ResultsArriveOnTheLoopInOrder) {
  boost::asio::io_context io;
  // run_one() waits for the worker's results instead of returning when no handler is queued.
  auto work = boost::asio::make_work_guard(io);
  std::vector<std::string> seen;
  std::vector<std::pair<std::int64_t, bool>> results;
  {
    ThreadedMailer mailer(io, std::make_unique<FakeTransport>(&seen));
    const auto loop_thread = std::this_thread::get_id();
    for (std::int64_t id : {1, 2}) {
      mailer.send(OutgoingMail{.id = id, .recipient = id == 1 ? "a" : "bad"},
                  [&, id](const SendResult& r) {
                    EXPECT_EQ(std::this_thread::get_id(), loop_thread);
                    results.emplace_back(id, r.ok);
                  });
    }
    EXPECT_TRUE(results.empty());  // never from inside send()
    while (results.size() < 2) io.run_one();
    // A delivery that hangs is cancelled by destruction; its result is never delivered.
    mailer.send(OutgoingMail{.id = 3, .recipient = "block"},
                [&](const SendResult&) { results.emplace_back(3, false); });
  }
  work.reset();
  io.poll();
  EXPECT_EQ(results, (std::vector<std::pair<std::int64_t, bool>>{{1, true}, {2, false}}));
  ASSERT_GE(seen.size(), 2u);
  EXPECT_EQ(seen[0], "a");
  EXPECT_EQ(seen[1], "bad");
}

TEST(SmtpOptionsTest, UrlSchemesAndStarttls) {
  EXPECT_TRUE(checkSmtpOptions({.url = "smtp://127.0.0.1:25"}));
  EXPECT_TRUE(checkSmtpOptions({.url = "smtps://mail.example.org"}));
  EXPECT_TRUE(checkSmtpOptions({.url = "smtp://mail.example.org", .starttls = true}));
  EXPECT_FALSE(checkSmtpOptions({.url = "http://mail.example.org"}));
  EXPECT_FALSE(checkSmtpOptions({.url = "smtps://mail.example.org", .starttls = true}));
  EXPECT_FALSE(checkSmtpOptions({.url = "smtp://m", .user = "u"}));  // no password
}

TEST(SmtpOptionsTest, PasswordFileFirstLineWithoutNewline) {
  const auto p = std::filesystem::temp_directory_path() /
                 ("tjf-pw-" + std::to_string(::getpid()));
  std::ofstream(p) << "s3cret\nignored\n";
  EXPECT_EQ(readPasswordFile(p).value_or(""), "s3cret");
  std::ofstream(p, std::ios::trunc) << "";
  EXPECT_FALSE(readPasswordFile(p));
  std::filesystem::remove(p);
  auto missing = readPasswordFile(p);
  ASSERT_FALSE(missing);
  EXPECT_THAT(missing.error().message, HasSubstr(p.string()));
}

// A loopback socket: bound (so nobody else gets the port), listening only if asked.
struct LoopbackSocket {
  UniqueFd fd;
  int port = 0;
  explicit LoopbackSocket(bool listening) {
    fd.reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    if (listening) {
      EXPECT_EQ(::listen(fd.get(), 1), 0);
    }
  }
};

OutgoingMail testMail() {
  return OutgoingMail{.id = 1,
                      .sender = "jobs@tjf.test",
                      .recipient = "tools.t@tjf.test",
                      .message = "Subject: x\r\n\r\nhello\r\n"};
}

TEST(CurlSmtpTransportTest, ServerDownIsATransientFailure) {
  LoopbackSocket closed(/*listening=*/false);
  const std::string url = "smtp://127.0.0.1:" + std::to_string(closed.port);
  auto transport = CurlSmtpTransport::create({.url = url, .connect_timeout = Millis(2'000)});
  ASSERT_TRUE(transport) << transport.error().message;
  std::atomic<bool> cancel{false};
  const auto r = (*transport)->send(testMail(), cancel);
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.permanent);
  EXPECT_THAT(r.error, HasSubstr("'" + url + "'"));
  EXPECT_THAT(r.error, HasSubstr("'tools.t@tjf.test'"));
}

// Serves one SMTP session that answers MAIL and RCPT with the given replies, and records the
// commands.
void scriptedSession(int listen_fd, std::string mail_reply, std::string rcpt_reply,
                     std::vector<std::string>* commands) {
  UniqueFd conn(::accept(listen_fd, nullptr, nullptr));
  if (!conn.valid()) return;
  auto say = [&](const std::string& line) {
    const std::string out = line + "\r\n";
    (void)!::write(conn.get(), out.data(), out.size());
  };
  say("220 test ESMTP");
  std::string buffer;
  char chunk[512];
  while (true) {
    const auto nl = buffer.find("\r\n");
    if (nl == std::string::npos) {
      const ssize_t n = ::read(conn.get(), chunk, sizeof chunk);
      if (n <= 0) return;
      buffer.append(chunk, static_cast<std::size_t>(n));
      continue;
    }
    const std::string line = buffer.substr(0, nl);
    buffer.erase(0, nl + 2);
    commands->push_back(line.substr(0, 4));
    if (line.rfind("EHLO", 0) == 0) {
      say("250 test");
    } else if (line.rfind("MAIL", 0) == 0) {
      say(mail_reply);
    } else if (line.rfind("RCPT", 0) == 0) {
      say(rcpt_reply);
    } else if (line.rfind("QUIT", 0) == 0) {
      say("221 bye");
      return;
    } else {
      say("500 what");
    }
  }
}

TEST(CurlSmtpTransportTest, RefusedRecipientIsAPermanentFailure) {
  LoopbackSocket server(/*listening=*/true);
  std::vector<std::string> commands;
  std::thread serve(scriptedSession, server.fd.get(), "250 ok", "550 5.1.1 no such user",
                    &commands);
  auto transport = CurlSmtpTransport::create(
      {.url = "smtp://127.0.0.1:" + std::to_string(server.port) + "/tjf.test"});
  ASSERT_TRUE(transport);
  std::atomic<bool> cancel{false};
  const auto r = (*transport)->send(testMail(), cancel);
  serve.join();
  EXPECT_FALSE(r.ok);
  EXPECT_TRUE(r.permanent) << r.error;
  EXPECT_THAT(r.error, HasSubstr("550"));
  EXPECT_THAT(commands, ::testing::Contains("RCPT"));
}

TEST(CurlSmtpTransportTest, TlsOrAuthenticationRequiredIsTheOperatorsToFixNotPermanent) {
  LoopbackSocket server(/*listening=*/true);
  std::vector<std::string> commands;
  std::thread serve(scriptedSession, server.fd.get(),
                    "530 5.7.0 Must issue a STARTTLS command first", "250 ok", &commands);
  auto transport = CurlSmtpTransport::create(
      {.url = "smtp://127.0.0.1:" + std::to_string(server.port) + "/tjf.test"});
  ASSERT_TRUE(transport);
  std::atomic<bool> cancel{false};
  const auto r = (*transport)->send(testMail(), cancel);
  serve.join();
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.permanent) << r.error;
  EXPECT_THAT(r.error, HasSubstr("530"));
}

}  // namespace
}  // namespace tjf::notify
