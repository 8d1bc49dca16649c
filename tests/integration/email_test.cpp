// Email notifications end to end: the real tjfd and CLI, and a real SMTP server on 127.0.0.1
// (Debian's python3-aiosmtpd, storing each message in a Maildir) started and stopped by the tests.
// Checks the delivered messages: the filters of each --emails setting, batching into one mail per
// window, what a mail says (exit code, signal, reason, the end of stderr), delivery after the
// server comes back, and STARTTLS, TLS and authentication.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "harness.hpp"

extern char** environ;

namespace tjf::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr const char* kPython = "/usr/bin/python3";  // Debian's, which sees python3-aiosmtpd

// The test server: aiosmtpd's Mailbox handler behind an asyncio server we create ourselves, so
// it can listen on port 0 (and tell us the port), do implicit TLS, STARTTLS and AUTH.
// argv: maildir port-file port mode(plain|starttls|smtps) cert key user password
constexpr const char* kServerScript = R"py(
import asyncio, os, signal, ssl, sys
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

maildir, port_file, port, mode, cert, key, user, password = sys.argv[1:9]
ctx = None
if mode != "plain":
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)

def authenticate(server, session, envelope, mechanism, data):
    ok = (isinstance(data, LoginPassword) and data.login == user.encode()
          and data.password == password.encode())
    return AuthResult(success=ok, handled=False)  # handled=False: a failure replies 535

kw = {}
if user:
    kw.update(authenticator=authenticate, auth_required=True,
              auth_require_tls=(mode == "starttls"))
if mode == "starttls":
    kw.update(tls_context=ctx, require_starttls=True)
handler = Mailbox(maildir)
loop = asyncio.new_event_loop()
asyncio.set_event_loop(loop)
server = loop.run_until_complete(loop.create_server(
    lambda: SMTP(handler, loop=loop, **kw), "127.0.0.1", int(port),
    ssl=ctx if mode == "smtps" else None))
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.sockets[0].getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
loop.add_signal_handler(signal.SIGTERM, loop.stop)
loop.run_forever()
)py";

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

int run(const std::vector<std::string>& argv) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return -1;
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool aiosmtpdAvailable() { return run({kPython, "-c", "import aiosmtpd"}) == 0; }

// A free loopback port, for a server that must come back on the port the daemon was told.
int freePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

struct Mail {
  std::map<std::string, std::string> headers;  // unfolded
  std::string body;
};

struct ServerOptions {
  std::string mode = "plain";  // plain | starttls | smtps
  int port = 0;
  std::filesystem::path cert, key;
  std::string user, password;
};

// One SMTP server process. Stops only the process it started, by pid.
class SmtpServer {
 public:
  explicit SmtpServer(std::filesystem::path dir) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ / "server.py") << kServerScript;
  }
  ~SmtpServer() { stop(); }

  void start(const ServerOptions& o) {
    const auto port_file = dir_ / "port";
    std::filesystem::remove(port_file);
    const std::vector<std::string> argv = {
        kPython,     (dir_ / "server.py").string(), maildir().string(), port_file.string(),
        std::to_string(o.port), o.mode, o.cert.string(), o.key.string(), o.user, o.password};
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    const std::string log = (dir_ / "server.log").string();
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ASSERT_EQ(::posix_spawn(&pid_, kPython, &actions, nullptr, args.data(), environ), 0);
    posix_spawn_file_actions_destroy(&actions);
    ASSERT_TRUE(eventually([&] { return std::filesystem::exists(port_file); }))
        << readFile(dir_ / "server.log");
    port_ = std::stoi(readFile(port_file));
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    if (!eventually([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; },
                    std::chrono::seconds(10))) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    pid_ = -1;
  }

  int port() const { return port_; }
  std::filesystem::path maildir() const { return dir_ / "maildir"; }

  // The delivered messages, oldest first.
  std::vector<Mail> mails() const {
    std::vector<std::pair<std::filesystem::file_time_type, std::filesystem::path>> files;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(maildir() / "new", ec)) {
      files.emplace_back(e.last_write_time(), e.path());
    }
    std::sort(files.begin(), files.end());
    std::vector<Mail> out;
    for (const auto& [time, path] : files) out.push_back(parse(readFile(path)));
    return out;
  }

 private:
  static Mail parse(std::string raw) {
    raw.erase(std::remove(raw.begin(), raw.end(), '\r'), raw.end());
    Mail m;
    const auto split = raw.find("\n\n");
    m.body = split == std::string::npos ? "" : raw.substr(split + 2);
    std::string last;
    std::istringstream headers(raw.substr(0, split));
    for (std::string line; std::getline(headers, line);) {
      if (!line.empty() && (line[0] == ' ' || line[0] == '\t') && !last.empty()) {
        m.headers[last] += " " + line.substr(line.find_first_not_of(" \t"));
        continue;
      }
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      last = line.substr(0, colon);
      m.headers[last] = line.substr(std::min(line.size(), colon + 2));
    }
    return m;
  }

  std::filesystem::path dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// Each job's part of the mails ("* Job 'name' ..." and its event lines), all mails together.
std::map<std::string, std::string> jobSections(const std::vector<Mail>& mails) {
  std::map<std::string, std::string> out;
  for (const auto& mail : mails) {
    std::istringstream body(mail.body);
    std::string current;
    for (std::string line; std::getline(body, line);) {
      if (line.rfind("* Job '", 0) == 0) {
        current = line.substr(7, line.find('\'', 7) - 7);
        out[current] += line + "\n";
      } else if (!current.empty() && line.rfind("  ", 0) == 0) {
        out[current] += line + "\n";
      } else {
        current.clear();
      }
    }
  }
  return out;
}

bool anyMailHas(const SmtpServer& server, const std::string& text) {
  for (const auto& m : server.mails()) {
    if (m.body.find(text) != std::string::npos) return true;
  }
  return false;
}

class EmailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!aiosmtpdAvailable()) {
      GTEST_SKIP() << "needs Debian's python3-aiosmtpd (" << kPython
                   << " -c 'import aiosmtpd' failed): apt-get install python3-aiosmtpd";
    }
    char tmpl[] = "/tmp/tjf-smtp-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    server_ = std::make_unique<SmtpServer>(dir_);
  }
  void TearDown() override {
    daemon_.reset();
    server_.reset();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }
  std::string emailConfig(int port, double batch_seconds, const std::string& scheme = "smtp") {
    std::ostringstream c;
    c << "smtp_url: " << scheme << "://127.0.0.1:" << port << "/tjf.test\n"
      << "mail_from: \"Toolforge jobs <jobs@tjf.test>\"\n"
      << "mail_to_domain: tjf.test\n"
      << "email_batch_seconds: " << batch_seconds << "\n"
      << "email_retry_seconds: 0.2\n"
      << "email_retry_max_seconds: 1\n";
    return c.str();
  }
  void startDaemon(const std::string& config_yaml) {
    daemon_ = std::make_unique<TestDaemon>(DaemonOptions{.config_yaml = config_yaml});
  }
  std::string daemonLog() const { return readFile(daemon_->root() / "tjfd.log"); }
  // Runs a job and waits for it to end (the exit code of a failed job's --wait is 1).
  void runJob(const std::string& name, const std::string& command, const std::string& emails,
              std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"run", name, "--command", command, "--image", "bookworm",
                                     "--emails", emails, "--wait", "60"};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto r = daemon_->jobs(args);
    ASSERT_NE(r.exit_code, 2) << r.err;
  }
  // A failing onfailure job run last: once its mail is in, every earlier event has been mailed
  // (events are read in order, and a tool's waiting events go out together, oldest mail first).
  void waitForSentinel(const std::string& name = "sentinel") {
    runJob(name, "exit 42", "onfailure");
    ASSERT_TRUE(eventually([&] { return anyMailHas(*server_, "* Job '" + name + "'"); },
                           std::chrono::seconds(30)))
        << daemonLog();
  }

  std::filesystem::path dir_;
  std::unique_ptr<SmtpServer> server_;
  std::unique_ptr<TestDaemon> daemon_;
};

TEST_F(EmailTest, EachEmailsSettingMailsItsEvents) {
  server_->start({});
  startDaemon(emailConfig(server_->port(), 1));
  for (const std::string setting : {"none", "all", "onfinish", "onfailure"}) {
    runJob(setting + "-ok", "true", setting);
    runJob(setting + "-bad", "exit 3", setting);
  }
  waitForSentinel();
  const auto jobs = jobSections(server_->mails());

  EXPECT_FALSE(jobs.count("none-ok"));
  EXPECT_FALSE(jobs.count("none-bad"));
  EXPECT_FALSE(jobs.count("onfailure-ok"));
  ASSERT_TRUE(jobs.count("all-ok") && jobs.count("all-bad") && jobs.count("onfinish-ok") &&
              jobs.count("onfinish-bad") && jobs.count("onfailure-bad"))
      << ::testing::PrintToString(jobs);

  EXPECT_THAT(jobs.at("all-ok"), HasSubstr("(normal) (emails: all) had 2 events:"));
  EXPECT_THAT(jobs.at("all-ok"), HasSubstr("' started.\n"));
  EXPECT_THAT(jobs.at("all-ok"), HasSubstr("' completed.\n"));
  EXPECT_THAT(jobs.at("all-ok"), HasSubstr("Exit code was '0'. With reason 'Completed'."));
  EXPECT_THAT(jobs.at("all-bad"), HasSubstr("' started.\n"));
  EXPECT_THAT(jobs.at("all-bad"), HasSubstr("' failed: exit code 3.\n"));

  EXPECT_THAT(jobs.at("onfinish-ok"), HasSubstr("(emails: onfinish) had 1 events:"));
  EXPECT_THAT(jobs.at("onfinish-ok"), HasSubstr("' completed.\n"));
  EXPECT_THAT(jobs.at("onfinish-bad"), HasSubstr("' failed: exit code 3.\n"));
  EXPECT_THAT(jobs.at("onfinish-bad"), Not(HasSubstr("started")));

  EXPECT_THAT(jobs.at("onfailure-bad"), HasSubstr("(emails: onfailure) had 1 events:"));
  EXPECT_THAT(jobs.at("onfailure-bad"), HasSubstr("Exit code was '3'. With reason 'Error'."));
}

TEST_F(EmailTest, EventsOfAWindowGoOutAsOneMailPerTool) {
  server_->start({});
  startDaemon(emailConfig(server_->port(), 4));
  for (const std::string name : {"first", "second", "third"}) {
    const auto r = daemon_->jobs({"run", name, "--command", "exit 1", "--image", "bookworm",
                                  "--emails", "onfailure"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
  ASSERT_TRUE(eventually([&] { return !server_->mails().empty(); }, std::chrono::seconds(30)))
      << daemonLog();
  auto mails = server_->mails();
  ASSERT_EQ(mails.size(), 1u);
  Mail m = mails[0];
  EXPECT_EQ(m.headers["Subject"], "[Toolforge] [tf-test] notification about 3 jobs");
  EXPECT_EQ(m.headers["To"], "tools.tf-test@tjf.test");
  EXPECT_EQ(m.headers["From"], "Toolforge jobs <jobs@tjf.test>");
  EXPECT_EQ(m.headers["X-MailFrom"], "jobs@tjf.test");  // the envelope, as the server saw it
  EXPECT_EQ(m.headers["X-RcptTo"], "tools.tf-test@tjf.test");
  EXPECT_EQ(m.headers["Auto-Submitted"], "auto-generated");
  EXPECT_THAT(m.body, HasSubstr("We wanted to notify you about the activity of some jobs in the "
                                "'tf-test' Toolforge tool."));
  for (const std::string name : {"first", "second", "third"}) {
    EXPECT_THAT(m.body, HasSubstr("* Job '" + name + "' (normal) (emails: onfailure) had 1 events:"));
  }

  // The next window's mail is about one job.
  const auto r = daemon_->jobs({"run", "fourth", "--command", "exit 1", "--image", "bookworm",
                                "--emails", "onfailure"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_TRUE(eventually([&] { return server_->mails().size() >= 2; }, std::chrono::seconds(30)));
  mails = server_->mails();
  ASSERT_EQ(mails.size(), 2u);
  EXPECT_EQ(mails[1].headers["Subject"], "[Toolforge] [tf-test] notification about job fourth");
}

TEST_F(EmailTest, MailSaysWhatHappenedAndEndsWithTheStderrTail) {
  server_->start({});
  startDaemon(emailConfig(server_->port(), 1));
  daemon_->writeHomeFile("noisy.sh",
                         "#!/bin/sh\necho to stdout\n"
                         "i=1; while [ $i -le 30 ]; do echo \"stderr line $i\" >&2; i=$((i+1)); done\n"
                         "exit 7\n",
                         true);
  runJob("noisy", "./noisy.sh", "onfailure");
  runJob("captured", "echo on stdout; echo captured problem >&2; exit 2", "onfailure",
         {"--no-filelog"});
  runJob("killed", "echo about to die >&2; kill -9 $$", "onfailure");
  runJob("slow", "sleep 30", "onfailure", {"--timeout", "1"});
  runJob("nostart", "true", "onfailure", {"--filelog-stderr", "missing-dir/nostart.err"});
  waitForSentinel();
  const auto jobs = jobSections(server_->mails());
  ASSERT_EQ(jobs.count("noisy") + jobs.count("captured") + jobs.count("killed") +
                jobs.count("slow") + jobs.count("nostart"),
            5u)
      << ::testing::PrintToString(jobs);

  const std::string& noisy = jobs.at("noisy");
  EXPECT_THAT(noisy, HasSubstr("failed: exit code 7.\n"));
  EXPECT_THAT(noisy, HasSubstr("Exit code was '7'. With reason 'Error'.\n"
                               "     Last 20 lines of its stderr (noisy.err):\n"
                               "     | stderr line 11\n"));
  EXPECT_THAT(noisy, HasSubstr("     | stderr line 30\n"));
  EXPECT_THAT(noisy, Not(HasSubstr("stderr line 10\n")));
  EXPECT_THAT(noisy, Not(HasSubstr("to stdout")));
  EXPECT_THAT(noisy, HasSubstr("  -- Run '"));
  EXPECT_THAT(noisy, HasSubstr("Start timestamp "));
  EXPECT_THAT(noisy, HasSubstr("Finish timestamp "));

  EXPECT_THAT(jobs.at("captured"), HasSubstr("Last line of its stderr (captured output):\n"
                                             "     | captured problem\n"));
  EXPECT_THAT(jobs.at("captured"), Not(HasSubstr("on stdout")));

  EXPECT_THAT(jobs.at("killed"), HasSubstr("failed: killed by signal 9 (SIGKILL).\n"));
  EXPECT_THAT(jobs.at("killed"), HasSubstr("Signal was '9 (SIGKILL)'. With reason 'Signal'."));
  EXPECT_THAT(jobs.at("killed"), HasSubstr("| about to die\n"));

  EXPECT_THAT(jobs.at("slow"), HasSubstr("failed: stopped at its timeout"));
  EXPECT_THAT(jobs.at("slow"), HasSubstr("With reason 'DeadlineExceeded'."));

  EXPECT_THAT(jobs.at("nostart"), HasSubstr("could not start"));
  EXPECT_THAT(jobs.at("nostart"), HasSubstr("missing-dir"));
  EXPECT_THAT(jobs.at("nostart"), HasSubstr("With reason 'StartError'."));
}

TEST_F(EmailTest, MailQueuedWhileTheServerIsDownIsDeliveredWhenItComesBack) {
  const int port = freePort();
  startDaemon(emailConfig(port, 0.5));
  runJob("while-down", "echo it broke >&2; exit 5", "onfailure");
  ASSERT_TRUE(eventually([&] { return daemonLog().find("deferred") != std::string::npos; },
                         std::chrono::seconds(30)))
      << daemonLog();
  EXPECT_THAT(daemonLog(), HasSubstr("to 'tools.tf-test@tjf.test' deferred (attempt 1"));
  // The outbox is in the store: a daemon restart while the server is down loses nothing.
  daemon_->restart();
  runJob("after-restart", "exit 6", "onfailure");

  server_->start({.port = port});
  ASSERT_TRUE(eventually([&] { return anyMailHas(*server_, "* Job 'after-restart'"); },
                         std::chrono::seconds(30)))
      << daemonLog();
  ASSERT_TRUE(eventually([&] { return anyMailHas(*server_, "* Job 'while-down'"); },
                         std::chrono::seconds(30)))
      << daemonLog();
  const auto jobs = jobSections(server_->mails());
  EXPECT_THAT(jobs.at("while-down"), HasSubstr("Exit code was '5'"));
  EXPECT_THAT(jobs.at("while-down"), HasSubstr("| it broke\n"));
  std::size_t mentions = 0;
  for (const auto& m : server_->mails()) {
    mentions += m.body.find("* Job 'while-down'") != std::string::npos ? 1 : 0;
  }
  EXPECT_EQ(mentions, 1u);  // delivered once
}

struct TlsCase {
  const char* name;
  const char* mode;    // the server's
  const char* scheme;  // the daemon's URL
  bool starttls;
};

void PrintTo(const TlsCase& c, std::ostream* os) { *os << c.name; }

class EmailTlsTest : public EmailTest, public ::testing::WithParamInterface<TlsCase> {};

TEST_P(EmailTlsTest, DeliversOverTlsWithAuthentication) {
  if (run({"/usr/bin/openssl", "version"}) != 0) GTEST_SKIP() << "needs /usr/bin/openssl";
  const auto cert = dir_ / "cert.pem";
  const auto key = dir_ / "key.pem";
  ASSERT_EQ(run({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                 key.string(), "-out", cert.string(), "-days", "1", "-subj", "/CN=127.0.0.1",
                 "-addext", "subjectAltName=IP:127.0.0.1"}),
            0);
  std::ofstream(dir_ / "password") << "hunter2\n";
  server_->start({.mode = GetParam().mode, .cert = cert, .key = key, .user = "mailer",
                  .password = "hunter2"});
  startDaemon(emailConfig(server_->port(), 0.5, GetParam().scheme) +
              "smtp_starttls: " + (GetParam().starttls ? "true" : "false") + "\n" +
              "smtp_ca_file: " + cert.string() + "\n" + "smtp_user: mailer\n" +
              "smtp_password_file: " + (dir_ / "password").string() + "\n");
  runJob("secure", "exit 9", "onfailure");
  ASSERT_TRUE(eventually([&] { return anyMailHas(*server_, "* Job 'secure'"); },
                         std::chrono::seconds(30)))
      << daemonLog() << readFile(dir_ / "server.log");
  EXPECT_THAT(daemonLog(), Not(HasSubstr("hunter2")));
}

INSTANTIATE_TEST_SUITE_P(Modes, EmailTlsTest,
                         ::testing::Values(TlsCase{"Starttls", "starttls", "smtp", true},
                                           TlsCase{"ImplicitTls", "smtps", "smtps", false}),
                         [](const auto& info) { return std::string(info.param.name); });

TEST_F(EmailTest, WrongPasswordKeepsTheMailQueued) {
  if (run({"/usr/bin/openssl", "version"}) != 0) GTEST_SKIP() << "needs /usr/bin/openssl";
  const auto cert = dir_ / "cert.pem";
  const auto key = dir_ / "key.pem";
  ASSERT_EQ(run({"/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                 key.string(), "-out", cert.string(), "-days", "1", "-subj", "/CN=127.0.0.1",
                 "-addext", "subjectAltName=IP:127.0.0.1"}),
            0);
  std::ofstream(dir_ / "password") << "wrong\n";
  server_->start({.mode = "smtps", .cert = cert, .key = key, .user = "mailer",
                  .password = "hunter2"});
  startDaemon(emailConfig(server_->port(), 0.5, "smtps") + "smtp_ca_file: " + cert.string() +
              "\nsmtp_user: mailer\nsmtp_password_file: " + (dir_ / "password").string() + "\n");
  runJob("denied", "exit 1", "onfailure");
  ASSERT_TRUE(eventually([&] { return daemonLog().find("deferred") != std::string::npos; },
                         std::chrono::seconds(30)))
      << daemonLog();
  EXPECT_THAT(daemonLog(), HasSubstr("(server reply 535)"));  // refused, yet kept for a retry
  EXPECT_TRUE(server_->mails().empty());
  // The operator fixes the password and restarts the daemon: the mail goes.
  std::ofstream(dir_ / "password", std::ios::trunc) << "hunter2\n";
  daemon_->restart();
  ASSERT_TRUE(eventually([&] { return anyMailHas(*server_, "* Job 'denied'"); },
                         std::chrono::seconds(30)))
      << daemonLog();
}

}  // namespace
}  // namespace tjf::testing
