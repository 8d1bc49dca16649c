// Platform mode (docs/platform-mode.md): a root tjfd serving several real tool accounts. Each
// test creates its own accounts and daemon (platform_harness.hpp) and checks what one tool can
// and cannot do to another: every API endpoint, files and log paths, signals, the state
// directory, envvars; and who a connection is, by peer credentials or by TLS client certificate.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <set>

#include "platform_harness.hpp"

namespace tjf::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

class PlatformTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const auto why = PlatformDaemon::unavailable(); !why.empty()) GTEST_SKIP() << why;
    daemon_ = std::make_unique<PlatformDaemon>(options());
  }
  virtual PlatformOptions options() { return {}; }

  PlatformDaemon& d() { return *daemon_; }

  json show(const std::string& tool, const std::string& job) {
    return d().http(tool, "GET", "/v1/tool/" + tool + "/jobs/" + job).json().value("job", json());
  }
  json runs(const std::string& tool, const std::string& job) {
    return d().http(tool, "GET", "/v1/tool/" + tool + "/jobs/" + job + "/runs").json().value(
        "runs", json::array());
  }
  // A one-off job run to its end (--wait); returns its newest run.
  json runToEnd(const std::string& tool, const std::vector<std::string>& args) {
    std::vector<std::string> all = {"run"};
    all.insert(all.end(), args.begin(), args.end());
    all.insert(all.end(), {"--image", "bookworm", "--wait", "120"});
    const auto r = d().jobs(tool, all);
    const auto list = runs(tool, args.front());
    EXPECT_FALSE(list.empty()) << r.err << r.out;
    return list.empty() ? json() : list.at(0);
  }
  bool running(const std::string& tool, const std::string& job) {
    const auto j = show(tool, job);
    return !j.is_null() && j.value("status_short", "") == "Running";
  }

  std::unique_ptr<PlatformDaemon> daemon_;
};

// ---- Who a connection is ------------------------------------------------------------------------

TEST_F(PlatformTest, PeerCredentialsNameTheTool) {
  auto alpha = d().http("alpha", "GET", "/v1/whoami");
  ASSERT_EQ(alpha.status, 200) << alpha.body;
  EXPECT_EQ(alpha.json().at("tool"), "alpha");
  EXPECT_EQ(alpha.json().at("home"), d().tool("alpha").home.string());
  auto beta = d().http("beta", "GET", "/v1/whoami");
  ASSERT_EQ(beta.status, 200) << beta.body;
  EXPECT_EQ(beta.json().at("tool"), "beta");

  // Every account may connect (mode 0666); who it is decides what it may do.
  struct stat st {};
  ASSERT_EQ(::stat(d().socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0666u);

  // Root is no tool, and neither is an account outside the prefix.
  auto root = d().httpAsRoot("GET", "/v1/tool/alpha/jobs");
  EXPECT_EQ(root.status, 403);
  EXPECT_THAT(root.body, HasSubstr("root is no tool"));
  auto nobody = d().httpAsUid(65534, 65534, "GET", "/v1/whoami");
  EXPECT_EQ(nobody.status, 403) << nobody.body;
  EXPECT_THAT(nobody.body, HasSubstr("is not a tool account"));
  // The unauthenticated endpoints answer everyone.
  EXPECT_EQ(d().httpAsUid(65534, 65534, "GET", "/v1/healthz").status, 200);

  // The CLI needs nothing but the daemon's address: the daemon knows who runs it.
  const auto run = d().jobs("alpha", {"run", "hello", "--command", "echo hello from $TOOL_NAME",
                                      "--image", "bookworm", "--wait"});
  ASSERT_EQ(run.exit_code, 0) << run.err << run.out;
  EXPECT_EQ(d().readHomeFile("alpha", "hello.out"), "hello from alpha\n");
  EXPECT_THAT(d().jobs("alpha", {"list"}).out, HasSubstr("hello"));
  const auto beta_list = d().jobs("beta", {"list"});
  EXPECT_EQ(beta_list.exit_code, 0) << beta_list.err;
  EXPECT_EQ(beta_list.out, "") << "beta sees none of alpha's jobs";
  EXPECT_THAT(d().log(), HasSubstr("platform mode"));
}

class PlatformSocketGroupTest : public PlatformTest {
 protected:
  // Only the members of alpha's group may connect at all.
  PlatformOptions options() override {
    return {.config_yaml = "socket_mode: \"0660\"\nsocket_group: tjft" +
                           std::to_string(::getpid()) + ".alpha\n"};
  }
};

TEST_F(PlatformSocketGroupTest, OnlyTheSocketsGroupMayConnect) {
  struct stat st {};
  ASSERT_EQ(::stat(d().socket().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0660u);
  EXPECT_EQ(st.st_gid, d().tool("alpha").gid);
  EXPECT_EQ(d().http("alpha", "GET", "/v1/whoami").status, 200);
  const auto beta = d().http("beta", "GET", "/v1/whoami");
  EXPECT_EQ(beta.status, 0) << "beta cannot even connect: " << beta.body;
  EXPECT_THAT(beta.body, HasSubstr("Couldn't connect"));
}

// ---- No request reaches another tool's jobs ------------------------------------------------------

TEST_F(PlatformTest, EveryEndpointRefusesAnotherTool) {
  d().writeHomeFile("beta", "keeper.sh", "#!/bin/sh\nexec sleep 600\n", true);
  ASSERT_EQ(d().jobs("beta", {"run", "keeper", "--command", "./keeper.sh", "--image", "bookworm",
                              "--continuous"}).exit_code, 0);
  ASSERT_EQ(d().cli("beta", {"envvars", "create", "SECRET", "beta-secret-value"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] { return running("beta", "keeper"); }));
  const auto keeper_runs = runs("beta", "keeper");
  ASSERT_FALSE(keeper_runs.empty());
  const auto keeper_run = keeper_runs.at(0).at("id");

  const json job_body = {{"name", "intruder"}, {"cmd", "true"}, {"imagename", "bookworm"}};
  auto check = [&](const std::string& method, const std::string& path, const std::string& body) {
    const auto r = d().http("alpha", method, path, body);
    EXPECT_EQ(r.status, 403) << method << " " << path << ": " << r.body;
    EXPECT_THAT(r.body, Not(HasSubstr("keeper"))) << method << " " << path;
    EXPECT_THAT(r.body, Not(HasSubstr("beta-secret-value"))) << method << " " << path;
    return r;
  };

  // Every operation the API documents under /v1/tool/{tool}, with beta's name in it.
  const auto doc = d().httpAsRoot("GET", "/openapi.json").json();
  ASSERT_TRUE(doc.contains("paths"));
  std::set<std::string> tried;
  for (const auto& [tmpl, item] : doc.at("paths").items()) {
    if (tmpl.rfind("/v1/tool/{tool}", 0) != 0) continue;
    std::string path = std::regex_replace(tmpl, std::regex("\\{tool\\}"), "beta");
    path = std::regex_replace(path, std::regex("\\{name\\}"),
                              tmpl.find("/envvars/") != std::string::npos ? "SECRET" : "keeper");
    for (const auto& [method, op] : item.items()) {
      if (method == "parameters") continue;
      std::string upper = method;
      for (auto& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      check(upper, path, upper == "GET" || upper == "DELETE" ? "" : job_body.dump());
      tried.insert(upper + " " + tmpl);
    }
  }
  EXPECT_GE(tried.size(), 16u) << "the document lists the jobs and envvars operations";
  EXPECT_TRUE(tried.count("DELETE /v1/tool/{tool}/envvars/{name}")) << "envvars are documented";
  // And what is not documented is refused before it is routed.
  check("GET", "/v1/tool/beta/jobs/keeper/logs?follow=true", "");
  check("GET", "/v1/tool/beta/envvars?show_values=true", "");
  check("PATCH", "/v1/tool/beta/jobs?dry_run=true", json::array({job_body}).dump());
  check("GET", "/v1/tool/beta/no-such-thing", "");
  check("GET", "/v1/tool/beta", "");
  check("GET", "/v1/tool/BETA/jobs", "");
  check("GET", "/v1/tool/beta%2F/jobs", "");
  // Dot segments are not resolved: they name nothing of beta's.
  const auto dots = d().http("alpha", "GET", "/v1/tool/alpha/../beta/jobs");
  EXPECT_NE(dots.status, 200);
  EXPECT_THAT(dots.body, Not(HasSubstr("keeper")));

  // Nothing of beta's changed: same job, same run, same variable.
  EXPECT_TRUE(running("beta", "keeper"));
  EXPECT_EQ(runs("beta", "keeper").at(0).at("id"), keeper_run) << "not restarted";
  EXPECT_TRUE(show("beta", "intruder").is_null());
  EXPECT_TRUE(show("alpha", "intruder").is_null());
  const auto secret = d().http("beta", "GET", "/v1/tool/beta/envvars/SECRET");
  EXPECT_EQ(secret.status, 200);
  EXPECT_EQ(secret.json().at("envvar").at("value"), "beta-secret-value");
}

// ---- Runs take the tool's identity ---------------------------------------------------------------

TEST_F(PlatformTest, JobsRunAsTheToolWithItsGroupsInItsHome) {
  // An extra group of alpha's (created before the daemon first looks alpha up).
  ASSERT_EQ(std::system(("groupadd " + d().prefix() + " && usermod -aG " + d().prefix() + " " +
                         d().tool("alpha").account)
                            .c_str()),
            0);
  const gid_t extra = ::getgrnam(d().prefix().c_str())->gr_gid;
  const auto run = runToEnd("alpha", {"who", "--command", "id -u; id -g; id -G; pwd; echo $HOME"});
  ASSERT_EQ(run.value("state", ""), "succeeded") << run.dump();
  std::stringstream out(d().readHomeFile("alpha", "who.out"));
  std::string uid, gid, groups, pwd, home;
  std::getline(out, uid);
  std::getline(out, gid);
  std::getline(out, groups);
  std::getline(out, pwd);
  std::getline(out, home);
  const auto& alpha = d().tool("alpha");
  EXPECT_EQ(uid, std::to_string(alpha.uid));
  EXPECT_EQ(gid, std::to_string(alpha.gid));
  EXPECT_THAT(groups, HasSubstr(std::to_string(extra)));
  EXPECT_THAT(" " + groups + " ", Not(HasSubstr(" 0 "))) << "no group of root's";
  EXPECT_EQ(pwd, alpha.home.string());
  EXPECT_EQ(home, alpha.home.string());
  struct stat st {};
  ASSERT_EQ(::stat((alpha.home / "who.out").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, alpha.uid) << "log files are created by the tool";
}

// ---- Log paths: symlinks, '..' and absolute paths gain nothing ----------------------------------

TEST_F(PlatformTest, LogPathsNeverReachAnotherToolsFiles) {
  const auto& alpha = d().tool("alpha");
  const auto& beta = d().tool("beta");
  ::chmod(beta.home.c_str(), 0755);  // beta's files are readable, not writable, by others
  d().writeHomeFile("beta", "target.out", "beta data\n");
  const auto link = alpha.home / "evil.out";
  std::filesystem::create_symlink(beta.home / "target.out", link);
  ASSERT_EQ(::lchown(link.c_str(), alpha.uid, alpha.gid), 0);
  // A file of root's (standing in for a system file: a broken shim must not damage a real one).
  const auto root_file = d().root() / "root-only.txt";
  std::ofstream(root_file) << "root data\n";
  ::chmod(root_file.c_str(), 0644);

  for (const auto& [job, path] : std::vector<std::pair<std::string, std::string>>{
           {"evil", "evil.out"},
           {"dotdot", "../beta/dotdot.out"},
           {"absolute", (beta.home / "absolute.out").string()},
           {"system", root_file.string()}}) {
    const auto run = runToEnd("alpha", {job, "--command", "echo pwned", "--filelog-stdout", path});
    EXPECT_EQ(run.value("state", ""), "failed") << job << ": " << run.dump();
    EXPECT_EQ(run.value("reason", ""), "StartError") << job;
    EXPECT_THAT(run.value("message", ""), HasSubstr("cannot open log file")) << job;
    // `logs` reads a file-log job's files only when the tool owns them.
    const auto logs = d().http("alpha", "GET", "/v1/tool/alpha/jobs/" + job + "/logs");
    EXPECT_EQ(logs.status, 404) << job << ": " << logs.body;
    EXPECT_THAT(logs.body, Not(HasSubstr("beta data")));
    EXPECT_THAT(logs.body, Not(HasSubstr("root data")));
  }
  EXPECT_EQ(d().readHomeFile("beta", "target.out"), "beta data\n");
  std::ifstream root_in(root_file);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(root_in), {}), "root data\n");
  EXPECT_FALSE(std::filesystem::exists(beta.home / "dotdot.out"));
  EXPECT_FALSE(std::filesystem::exists(beta.home / "absolute.out"));

  // A log file that becomes a symlink to beta's file after the run is not read either.
  const auto ok = runToEnd("alpha", {"mine", "--command", "echo mine"});
  ASSERT_EQ(ok.value("state", ""), "succeeded");
  EXPECT_EQ(d().http("alpha", "GET", "/v1/tool/alpha/jobs/mine/logs").status, 200);
  std::filesystem::remove(alpha.home / "mine.out");
  std::filesystem::create_symlink(beta.home / "target.out", alpha.home / "mine.out");
  ::lchown((alpha.home / "mine.out").c_str(), alpha.uid, alpha.gid);
  const auto swapped = d().http("alpha", "GET", "/v1/tool/alpha/jobs/mine/logs");
  EXPECT_THAT(swapped.body, Not(HasSubstr("beta data")));
}

// ---- Signals and processes -----------------------------------------------------------------------

TEST_F(PlatformTest, OneToolCannotSignalOrInspectAnothersJobs) {
  d().writeHomeFile("beta", "sleeper.sh",
                    "#!/bin/sh\necho $$ > sleeper.pid\nexec sleep 600\n", true);
  ASSERT_EQ(d().jobs("beta", {"run", "sleeper", "--command", "./sleeper.sh", "--image",
                              "bookworm", "--continuous"}).exit_code, 0);
  ASSERT_TRUE(eventually([&] {
    return running("beta", "sleeper") &&
           !d().readHomeFile("beta", "sleeper.pid").empty();
  }));
  const std::string pid = d().readHomeFile("beta", "sleeper.pid").substr(
      0, d().readHomeFile("beta", "sleeper.pid").find('\n'));
  const auto run_id = runs("beta", "sleeper").at(0).at("id");

  const auto killer = runToEnd(
      "alpha", {"killer", "--command",
                "kill -TERM " + pid + " 2>/dev/null; echo other=$?; "
                "kill -TERM $PPID 2>/dev/null; echo supervisor=$?; "
                "cat /proc/" + pid + "/environ >/dev/null 2>&1; echo environ=$?"});
  ASSERT_EQ(killer.value("state", ""), "succeeded") << killer.dump();
  const std::string out = d().readHomeFile("alpha", "killer.out");
  EXPECT_THAT(out, HasSubstr("other=1"));
  EXPECT_THAT(out, HasSubstr("supervisor=1")) << "the run's supervisor is not the tool's";
  EXPECT_THAT(out, HasSubstr("environ=1"));
  EXPECT_EQ(::kill(std::stoi(pid), 0), 0) << "beta's job still runs";
  EXPECT_TRUE(running("beta", "sleeper"));
  EXPECT_EQ(runs("beta", "sleeper").at(0).at("id"), run_id);
}

// ---- The state directory and captured output -----------------------------------------------------

TEST_F(PlatformTest, StateAndCapturedOutputArePrivate) {
  struct stat st {};
  ASSERT_EQ(::stat(d().stateDir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(st.st_uid, 0u);
  const auto db = d().stateDir() / "tjfd.sqlite";
  for (const auto& file : {db, std::filesystem::path(db.string() + "-wal"),
                           std::filesystem::path(db.string() + "-shm")}) {
    if (::stat(file.c_str(), &st) != 0) continue;
    EXPECT_EQ(st.st_mode & 07777, 0600u) << file;
  }

  const auto run = runToEnd("alpha", {"cap", "--command", "echo captured-line", "--no-filelog"});
  ASSERT_EQ(run.value("state", ""), "succeeded") << run.dump();
  const auto run_dir = d().stateDir() / "runs" / std::to_string(run.at("id").get<long long>());
  ASSERT_TRUE(std::filesystem::exists(run_dir / "output.log"));
  for (const char* file : {"output.log", "spec.json", "exit.json"}) {
    ASSERT_EQ(::stat((run_dir / file).c_str(), &st), 0) << file;
    EXPECT_EQ(st.st_uid, 0u) << file << " is the daemon's, not the tool's";
    EXPECT_EQ(st.st_mode & 0007, 0u) << file << " is not for others";
  }
  // Not even the tool whose run it is can read it directly; it gets it through `logs`.
  for (const auto& tool : {"alpha", "beta"}) {
    EXPECT_NE(d().asTool(tool, {"cat", (run_dir / "output.log").string()}).exit_code, 0);
    EXPECT_NE(d().asTool(tool, {"ls", d().stateDir().string()}).exit_code, 0);
  }
  const auto logs = d().jobs("alpha", {"logs", "cap"});
  EXPECT_THAT(logs.out, HasSubstr("captured-line"));
  EXPECT_EQ(d().http("beta", "GET", "/v1/tool/alpha/jobs/cap/logs").status, 403);
  EXPECT_EQ(d().http("beta", "GET", "/v1/tool/beta/jobs/cap/logs").status, 404)
      << "beta's jobs have no 'cap': alpha's runs are not found under beta's name";

  // A job inherits no descriptor of the daemon's (store, sockets).
  const auto fds = runToEnd("alpha", {"fds", "--command",
                                      "for f in /proc/self/fd/*; do readlink $f; done"});
  ASSERT_EQ(fds.value("state", ""), "succeeded");
  const auto listing = d().readHomeFile("alpha", "fds.out");
  EXPECT_THAT(listing, Not(HasSubstr("socket:")));
  EXPECT_THAT(listing, Not(HasSubstr("sqlite")));
  EXPECT_THAT(listing, Not(HasSubstr(d().stateDir().string())));
}

// ---- envvars -------------------------------------------------------------------------------------

TEST_F(PlatformTest, EnvvarsAreInjectedAndIsolated) {
  // The value from standard input, so it stays out of the shell history.
  auto created = d().cli("alpha", {"envvars", "create", "TOKEN"}, "s3cret-alpha\n");
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_THAT(created.out, Not(HasSubstr("s3cret-alpha")));
  ASSERT_EQ(d().cli("alpha", {"envvars", "create", "PLAIN", "two words"}).exit_code, 0);
  ASSERT_EQ(d().cli("beta", {"envvars", "create", "TOKEN", "s3cret-beta"}).exit_code, 0);

  const auto list = d().cli("alpha", {"envvars", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  EXPECT_THAT(list.out, HasSubstr("TOKEN"));
  EXPECT_THAT(list.out, Not(HasSubstr("s3cret-alpha"))) << "values hidden unless asked for";
  EXPECT_THAT(d().cli("alpha", {"envvars", "list", "--show-values"}).out, HasSubstr("s3cret-alpha"));
  const auto shown = d().cli("alpha", {"envvars", "show", "TOKEN"});
  EXPECT_THAT(shown.out, HasSubstr("s3cret-alpha"));
  EXPECT_THAT(shown.out, Not(HasSubstr("s3cret-beta")));
  const auto json_list = json::parse(d().cli("alpha", {"envvars", "list", "--json"}).out);
  EXPECT_EQ(json_list, json::parse(R"([{"name": "PLAIN"}, {"name": "TOKEN"}])"));

  // Refused names, with the reason; exit 1 as for any refused request.
  const auto reserved = d().cli("alpha", {"envvars", "create", "HOME", "/tmp"});
  EXPECT_EQ(reserved.exit_code, 1);
  EXPECT_THAT(reserved.err, HasSubstr("set by the jobs framework"));
  EXPECT_EQ(d().cli("alpha", {"envvars", "create", "lower", "x"}).exit_code, 1);
  EXPECT_EQ(d().cli("alpha", {"envvars", "show", "NOPE"}).exit_code, 1);

  // Injected into every run of the tool, and only of that tool.
  const auto a = runToEnd("alpha", {"envtest", "--command",
                                    "echo \"token=$TOKEN plain=$PLAIN home=$HOME\""});
  ASSERT_EQ(a.value("state", ""), "succeeded");
  EXPECT_EQ(d().readHomeFile("alpha", "envtest.out"),
            "token=s3cret-alpha plain=two words home=" + d().tool("alpha").home.string() + "\n");
  const auto b = runToEnd("beta", {"envtest", "--command", "echo \"token=$TOKEN plain=${PLAIN:-unset}\""});
  ASSERT_EQ(b.value("state", ""), "succeeded");
  EXPECT_EQ(d().readHomeFile("beta", "envtest.out"), "token=s3cret-beta plain=unset\n");

  // Another tool's variables are out of reach, and no value reaches the daemon's log.
  EXPECT_EQ(d().http("beta", "GET", "/v1/tool/alpha/envvars?show_values=true").status, 403);
  EXPECT_THAT(d().log(), Not(HasSubstr("s3cret")));

  // Deleted: gone from the next run.
  ASSERT_EQ(d().cli("alpha", {"envvars", "delete", "TOKEN"}).exit_code, 0);
  EXPECT_EQ(d().cli("alpha", {"envvars", "delete", "TOKEN"}).exit_code, 1);
  const auto after = runToEnd("alpha", {"envtest2", "--command", "echo \"token=${TOKEN:-unset}\""});
  ASSERT_EQ(after.value("state", ""), "succeeded");
  EXPECT_EQ(d().readHomeFile("alpha", "envtest2.out"), "token=unset\n");
}

// ---- TLS with client certificates ----------------------------------------------------------------

class PlatformTlsTest : public PlatformTest {
 protected:
  PlatformOptions options() override { return {.tls = true}; }
  std::string cert(const std::string& name) { return (d().certsDir() / name).string(); }
};

TEST_F(PlatformTlsTest, TheCertificateNamesTheTool) {
  ASSERT_NE(d().tlsPort(), 0);
  const auto alpha = d().https(cert("alpha.crt"), cert("alpha.key"), "GET", "/v1/whoami");
  ASSERT_EQ(alpha.status, 200) << alpha.body;
  EXPECT_EQ(alpha.json().at("tool"), "alpha");
  EXPECT_EQ(d().https(cert("alpha.crt"), cert("alpha.key"), "GET", "/v1/tool/alpha/jobs").status,
            200);
  const auto created = d().https(cert("alpha.crt"), cert("alpha.key"), "POST",
                                 "/v1/tool/alpha/envvars", R"({"name":"VIA_TLS","value":"x"})");
  EXPECT_EQ(created.status, 200) << created.body;
  const auto beta = d().https(cert("beta.crt"), cert("beta.key"), "GET", "/v1/tool/beta/jobs");
  EXPECT_EQ(beta.status, 200) << beta.body;
  // The right CA, the wrong tool.
  const auto wrong = d().https(cert("alpha.crt"), cert("alpha.key"), "GET", "/v1/tool/beta/jobs");
  EXPECT_EQ(wrong.status, 403);
  EXPECT_EQ(d().https(cert("beta.crt"), cert("beta.key"), "GET", "/v1/tool/alpha/envvars").status,
            403);
  // The unauthenticated endpoints need no certificate.
  EXPECT_EQ(d().https("", "", "GET", "/v1/healthz").status, 200);
}

TEST_F(PlatformTlsTest, BadCertificatesAreRefusedWithTheReason) {
  struct Case {
    std::string what, cert, key, reason;
  };
  for (const auto& c : std::vector<Case>{
           {"no certificate", "", "", "no client certificate"},
           {"expired", cert("expired.crt"), cert("expired.key"), "expired"},
           {"another CA", cert("other/alpha.crt"), cert("other/alpha.key"), "refused"},
           {"a server certificate", cert("server.crt"), cert("server.key"), "purpose"},
           {"an unknown tool", cert("nosuchtool.crt"), cert("nosuchtool.key"), "no tool here"}}) {
    const auto r = d().https(c.cert, c.key, "GET", "/v1/tool/alpha/jobs");
    EXPECT_EQ(r.status, 403) << c.what << ": " << r.body;
    EXPECT_THAT(r.body, HasSubstr(c.reason)) << c.what;
    EXPECT_EQ(d().https(c.cert, c.key, "GET", "/v1/whoami").status, 403) << c.what;
  }
}

TEST_F(PlatformTlsTest, ARevokedCertificateIsRefused) {
  ASSERT_EQ(d().https(cert("beta.crt"), cert("beta.key"), "GET", "/v1/whoami").status, 200);
  const std::string script = std::string(TJF_SCRIPTS_DIR) + "/issue-tool-cert.sh";
  const std::string revoke = script + " revoke " + cert("ca") + " " + cert("beta.crt") +
                             " >/dev/null 2>&1";
  ASSERT_EQ(std::system(revoke.c_str()), 0);
  std::ofstream(d().root() / "tjfd.yaml", std::ios::app) << "tls_crl: " << cert("ca/crl.pem")
                                                          << "\n";
  d().stop();
  d().start();
  const auto revoked = d().https(cert("beta.crt"), cert("beta.key"), "GET", "/v1/whoami");
  EXPECT_EQ(revoked.status, 403);
  EXPECT_THAT(revoked.body, HasSubstr("revoked"));
  EXPECT_EQ(d().https(cert("alpha.crt"), cert("alpha.key"), "GET", "/v1/whoami").status, 200)
      << "only the revoked certificate is refused";
}

TEST_F(PlatformTlsTest, TheCliUsesTheToolsCertificate) {
  // As on Toolforge: ~/.toolskube/client.crt and client.key, found without configuration.
  const auto& alpha = d().tool("alpha");
  std::filesystem::create_directories(alpha.home / ".toolskube");
  std::filesystem::copy_file(cert("alpha.crt"), alpha.home / ".toolskube" / "client.crt");
  std::filesystem::copy_file(cert("alpha.key"), alpha.home / ".toolskube" / "client.key");
  for (const auto& p : {alpha.home / ".toolskube", alpha.home / ".toolskube" / "client.crt",
                        alpha.home / ".toolskube" / "client.key"}) {
    ::chown(p.c_str(), alpha.uid, alpha.gid);
  }
  const std::string url = "https://127.0.0.1:" + std::to_string(d().tlsPort());
  const std::vector<std::string> env = {"TJF_SOCKET=", "TJF_URL=" + url,
                                        "TJF_CA_FILE=" + cert("ca/ca.crt")};
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), (d().root() / "bin" / "toolforge").string());
    return d().asTool("alpha", args, "", env);
  };
  const auto run = cli({"jobs", "run", "viatls", "--command", "echo over tls", "--image",
                        "bookworm", "--wait"});
  ASSERT_EQ(run.exit_code, 0) << run.err << run.out;
  EXPECT_EQ(d().readHomeFile("alpha", "viatls.out"), "over tls\n");
  EXPECT_EQ(cli({"envvars", "create", "FROM_TLS", "yes"}).exit_code, 0);
  EXPECT_THAT(cli({"envvars", "list"}).out, HasSubstr("FROM_TLS"));
  // Without a certificate the CLI says why it was refused.
  std::filesystem::remove(alpha.home / ".toolskube" / "client.crt");
  const auto refused = cli({"jobs", "list"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_THAT(refused.err, HasSubstr("no client certificate"));
}

// ---- Configuration ---------------------------------------------------------------------------------

TEST(PlatformConfig, PlainTcpIsRefusedInPlatformMode) {
  if (::geteuid() != 0) GTEST_SKIP() << "platform mode needs root";
  char tmpl[] = "/tmp/tjf-platcfg-XXXXXX";
  ASSERT_TRUE(::mkdtemp(tmpl));
  const std::filesystem::path root = tmpl;
  std::ofstream(root / "tjfd.yaml") << "mode: platform\nstate_dir: " << (root / "state").string()
                                    << "\nsocket: " << (root / "tjfd.sock").string()
                                    << "\nlisten: 127.0.0.1:0\n";
  const std::string cmd = (binDir() / "tjfd").string() + " --config " +
                          (root / "tjfd.yaml").string() + " >" + (root / "out").string() +
                          " 2>&1";
  const int rc = std::system(cmd.c_str());
  EXPECT_EQ(WEXITSTATUS(rc), 1);
  std::ifstream in(root / "out");
  const std::string out((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_THAT(out, HasSubstr("listen needs TLS"));
  std::filesystem::remove_all(root);
}

// ---- Personal mode keeps working, with envvars -------------------------------------------------------

TEST(PersonalEnvvars, WorkInPersonalModeToo) {
  TestDaemon daemon;
  const auto created = daemon.exec({(binDir() / "toolforge").string(), "envvars", "create",
                                    "GREETING", "hello there"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  ASSERT_EQ(daemon.jobs({"run", "greet", "--command", "echo $GREETING", "--image", "bookworm",
                         "--wait"}).exit_code, 0);
  EXPECT_EQ(daemon.readHomeFile("greet.out"), "hello there\n");
  struct stat st {};
  ASSERT_EQ(::stat((daemon.stateDir() / "tjfd.sqlite").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u) << "the store holds secrets";
  const auto listed = daemon.exec({(binDir() / "toolforge").string(), "envvars", "list"});
  EXPECT_EQ(listed.out, "name\n--------\nGREETING\n");
}

}  // namespace
}  // namespace tjf::testing
