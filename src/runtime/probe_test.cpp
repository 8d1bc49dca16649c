#include "runtime/probe.hpp"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

namespace tjf::runtime {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using std::chrono::milliseconds;

class ProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("tjf-probe-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ProbeSpec script(const std::string& text, milliseconds timeout = milliseconds(5000)) {
    ProbeSpec spec;
    spec.kind = ProbeKind::kScript;
    spec.script = text;
    spec.workdir = dir_;
    spec.env = {"PATH=/usr/bin:/bin", "FOO=bar", "HOME=" + dir_.string()};
    spec.timeout = timeout;
    return spec;
  }

  // Runs one probe to its end on the loop.
  ProbeResult run(const ProbeSpec& spec) {
    std::optional<ProbeResult> result;
    prober_.start(spec, [&](const ProbeResult& r) { result = r; });
    io_.run_for(std::chrono::seconds(30));
    io_.restart();
    EXPECT_TRUE(result.has_value()) << "the callback was never called";
    return result.value_or(ProbeResult{});
  }

  // Whether the process is still alive 5 s from now (an exited one, zombie or gone, is not):
  // waits on a pidfd, because a SIGKILL takes effect when the victim is next scheduled.
  static bool processExists(pid_t pid) {
    const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
    if (fd < 0) return false;
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, 5000);
    ::close(fd);
    return ready == 0;
  }

  pid_t readPid(const std::string& name) {
    std::ifstream in(dir_ / name);
    pid_t pid = 0;
    in >> pid;
    return pid;
  }

  std::filesystem::path dir_;
  asio::io_context io_;
  LocalProber prober_{io_};
};

TEST_F(ProbeTest, ScriptExitCodeDecides) {
  auto ok = run(script("exit 0"));
  EXPECT_TRUE(ok.healthy);
  EXPECT_FALSE(ok.timed_out);
  EXPECT_EQ(ok.message, "exit code 0");
  auto bad = run(script("echo not ready yet; echo >&2 really; exit 3"));
  EXPECT_FALSE(bad.healthy);
  EXPECT_EQ(bad.message, "exit code 3: not ready yet really");
  EXPECT_EQ(prober_.inFlight(), 0u);
}

TEST_F(ProbeTest, ScriptRunsInTheJobsEnvironmentAndDirectory) {
  const auto r = run(script("test \"$FOO\" = bar && test \"$(pwd -P)\" = \"" +
                            std::filesystem::canonical(dir_).string() +
                            "\" && test -z \"$TJF_PROBE_LEAK\""));
  EXPECT_TRUE(r.healthy) << r.message;
}

TEST_F(ProbeTest, ScriptDoesNotInheritTheDaemonsIgnoredSigpipe) {
  ::signal(SIGPIPE, SIG_IGN);  // as tjfd does
  // SIGPIPE is signal 13, bit 12 of SigIgn. (glibc's posix_spawn leaves its two internal
  // signals, 32 and 33, ignored: nothing outside glibc can use them.)
  const auto r = run(script(
      "ign=$(sed -n 's/^SigIgn:[[:space:]]*//p' /proc/self/status); test $(( 0x$ign & 4096 )) -eq 0"));
  EXPECT_TRUE(r.healthy) << "SIGPIPE has its default disposition again: " << r.message;
}

TEST_F(ProbeTest, AHungScriptIsKilledWithItsWholeGroupAtTheTimeout) {
  const auto begin = std::chrono::steady_clock::now();
  const auto r = run(script("echo $$ > shell.pid; sleep 60 & echo $! > child.pid; wait",
                            milliseconds(300)));
  const auto took = std::chrono::steady_clock::now() - begin;
  EXPECT_FALSE(r.healthy);
  EXPECT_TRUE(r.timed_out);
  EXPECT_EQ(r.message, "timed out after 300ms");
  EXPECT_LT(took, std::chrono::seconds(5));
  const pid_t shell = readPid("shell.pid");
  const pid_t child = readPid("child.pid");
  ASSERT_GT(shell, 0);
  ASSERT_GT(child, 0);
  EXPECT_FALSE(processExists(shell));
  EXPECT_FALSE(processExists(child)) << "the background sleep was in the probe's group";
}

TEST_F(ProbeTest, WhatAScriptLeavesBehindIsEndedWithIt) {
  const auto r = run(script("sleep 60 & echo $! > child.pid; exit 0"));
  EXPECT_TRUE(r.healthy);
  const pid_t child = readPid("child.pid");
  ASSERT_GT(child, 0);
  EXPECT_FALSE(processExists(child));
}

TEST_F(ProbeTest, AHungProbeNeverBlocksTheLoop) {
  std::vector<std::string> order;
  prober_.start(script("sleep 60", milliseconds(1500)),
                [&](const ProbeResult&) { order.push_back("probe"); });
  asio::steady_timer tick(io_);
  tick.expires_after(milliseconds(20));
  tick.async_wait([&](const boost::system::error_code&) { order.push_back("tick"); });
  io_.run_for(std::chrono::seconds(30));
  EXPECT_EQ(order, (std::vector<std::string>{"tick", "probe"}));
}

TEST_F(ProbeTest, ManyProbesRunAtOnce) {
  int healthy = 0;
  const auto begin = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i) {
    prober_.start(script("sleep 0.3"), [&](const ProbeResult& r) { healthy += r.healthy; });
  }
  io_.run_for(std::chrono::seconds(30));
  EXPECT_EQ(healthy, 20);
  EXPECT_LT(std::chrono::steady_clock::now() - begin, std::chrono::seconds(5))
      << "probes run concurrently, not one after the other";
}

TEST_F(ProbeTest, ACancelledProbeIsKilledAndSilent) {
  bool called = false;
  const auto id = prober_.start(script("echo $$ > shell.pid; exec sleep 60"),
                                [&](const ProbeResult&) { called = true; });
  asio::steady_timer later(io_);
  later.expires_after(milliseconds(200));
  later.async_wait([&](const boost::system::error_code&) { prober_.cancel(id); });
  io_.run_for(std::chrono::seconds(30));
  EXPECT_FALSE(called);
  EXPECT_EQ(prober_.inFlight(), 0u);
  const pid_t shell = readPid("shell.pid");
  ASSERT_GT(shell, 0);
  EXPECT_FALSE(processExists(shell));
}

TEST_F(ProbeTest, DestroyingTheProberKillsWhatStillRuns) {
  auto prober = std::make_unique<LocalProber>(io_);
  prober->start(script("echo $$ > shell.pid; exec sleep 60"), [](const ProbeResult&) {
    ADD_FAILURE() << "no callback after destruction";
  });
  // Let the shell write its pid.
  for (int i = 0; i < 500 && readPid("shell.pid") == 0; ++i) io_.run_for(milliseconds(10));
  const pid_t shell = readPid("shell.pid");
  ASSERT_GT(shell, 0);
  prober.reset();
  EXPECT_FALSE(processExists(shell));
  io_.run_for(milliseconds(100));  // aborted handlers must not touch the dead prober
}

TEST_F(ProbeTest, ScriptRunsAsTheToolsUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to switch to another user";
  auto spec = script("test \"$(id -u)\" = 65534 && test \"$(id -g)\" = 65534");
  std::filesystem::permissions(dir_, std::filesystem::perms::all);
  spec.uid = 65534;
  spec.gid = 65534;
  const auto r = run(spec);
  EXPECT_TRUE(r.healthy) << r.message;
}

TEST_F(ProbeTest, ScriptJoinsTheRunsCgroupsBeforeItRuns) {
  // Plain files stand in for cgroup.procs: what matters is that the shell writes its own pid.
  std::ofstream(dir_ / "a.procs").close();
  std::ofstream(dir_ / "b.procs").close();
  auto spec = script("echo $$ > shell.pid");
  spec.cgroup_procs = {(dir_ / "a.procs").string(), (dir_ / "b.procs").string()};
  const auto r = run(spec);
  ASSERT_TRUE(r.healthy) << r.message;
  const pid_t shell = readPid("shell.pid");
  EXPECT_EQ(readPid("a.procs"), shell);
  EXPECT_EQ(readPid("b.procs"), shell);
  spec.cgroup_procs = {(dir_ / "missing" / "cgroup.procs").string()};
  const auto failed = run(spec);
  EXPECT_FALSE(failed.healthy);
  EXPECT_EQ(failed.message,
            "exit code 126: tjf: cannot join the run's cgroup: No such file or directory");
}

// A one-request HTTP server on 127.0.0.1 answering with `status_line`, remembering the request.
class TinyHttpServer {
 public:
  TinyHttpServer(asio::io_context& io, std::string status_line, bool respond = true)
      : acceptor_(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0)),
        socket_(io),
        status_line_(std::move(status_line)),
        respond_(respond) {
    acceptor_.async_accept(socket_, [this](const boost::system::error_code& ec) {
      if (ec) return;
      asio::async_read_until(socket_, request_, "\r\n\r\n",
                             [this](const boost::system::error_code& ec, std::size_t) {
                               if (ec || !respond_) return;
                               reply_ = status_line_ + "\r\nContent-Length: 0\r\n\r\n";
                               asio::async_write(socket_, asio::buffer(reply_),
                                                 [](const boost::system::error_code&,
                                                    std::size_t) {});
                             });
    });
  }
  std::uint16_t port() const { return acceptor_.local_endpoint().port(); }
  std::string requestLine() const {
    const std::string all(asio::buffers_begin(request_.data()),
                          asio::buffers_end(request_.data()));
    return all.substr(0, all.find("\r\n"));
  }
  void close() {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    socket_.close(ignored);
  }

 private:
  tcp::acceptor acceptor_;
  tcp::socket socket_;
  asio::streambuf request_;
  std::string status_line_;
  std::string reply_;
  bool respond_;
};

ProbeSpec http(std::uint16_t port, std::string path, milliseconds timeout = milliseconds(5000)) {
  ProbeSpec spec;
  spec.kind = ProbeKind::kHttp;
  spec.port = port;
  spec.path = std::move(path);
  spec.timeout = timeout;
  return spec;
}

TEST_F(ProbeTest, HttpTwoAndThreeHundredsAreHealthy) {
  for (const auto& [line, healthy] : std::vector<std::pair<std::string, bool>>{
           {"HTTP/1.1 200 OK", true},
           {"HTTP/1.1 204 No Content", true},
           {"HTTP/1.0 302 Found", true},
           {"HTTP/1.1 404 Not Found", false},
           {"HTTP/1.1 503 Service Unavailable", false}}) {
    TinyHttpServer server(io_, line);
    const auto r = run(http(server.port(), "/healthz"));
    EXPECT_EQ(r.healthy, healthy) << line << ": " << r.message;
    EXPECT_EQ(r.message, "HTTP " + line.substr(9, 3));
    EXPECT_EQ(server.requestLine(), "GET /healthz HTTP/1.1");
    server.close();
  }
}

TEST_F(ProbeTest, HttpPathWithoutSlashAndQueryIsSentAsGiven) {
  TinyHttpServer server(io_, "HTTP/1.1 200 OK");
  EXPECT_TRUE(run(http(server.port(), "status?full=1")).healthy);
  EXPECT_EQ(server.requestLine(), "GET /status?full=1 HTTP/1.1");
  server.close();
}

TEST_F(ProbeTest, HttpServerThatNeverAnswersTimesOut) {
  TinyHttpServer server(io_, "", /*respond=*/false);
  const auto r = run(http(server.port(), "/", milliseconds(300)));
  EXPECT_FALSE(r.healthy);
  EXPECT_TRUE(r.timed_out);
  server.close();
}

std::uint16_t closedPort(asio::io_context& io) {
  tcp::acceptor a(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  const auto port = a.local_endpoint().port();
  a.close();
  return port;
}

TEST_F(ProbeTest, TcpConnectsOrNot) {
  tcp::acceptor open(io_, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
  ProbeSpec spec;
  spec.kind = ProbeKind::kTcp;
  spec.port = open.local_endpoint().port();
  const auto up = run(spec);
  EXPECT_TRUE(up.healthy) << up.message;
  spec.port = closedPort(io_);
  const auto down = run(spec);
  EXPECT_FALSE(down.healthy);
  EXPECT_NE(down.message.find("cannot connect to 127.0.0.1:" + std::to_string(spec.port)),
            std::string::npos)
      << down.message;
  const auto http_down = run(http(spec.port, "/"));
  EXPECT_FALSE(http_down.healthy);
}

}  // namespace
}  // namespace tjf::runtime
