#include "platform_harness.hpp"

#include <fcntl.h>
#include <grp.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <memory>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <gtest/gtest.h>

#include "cli/http_client.hpp"

extern char** environ;

namespace tjf::testing {
namespace {

// Runs argv (PATH searched) with `stdin_text` on its standard input, in `cwd`, and collects its
// output. The child gets this process's environment.
CommandResult run(const std::vector<std::string>& argv, const std::string& stdin_text = "",
                  const std::filesystem::path& cwd = "/") {
  int out_pipe[2], err_pipe[2], in_pipe[2];
  if (::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0 || ::pipe(in_pipe) != 0) {
    throw std::runtime_error("pipe failed");
  }
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const pid_t child = ::fork();
  if (child == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    ::close_range(3, ~0U, 0);
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execvp(args[0], args.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  ::close(in_pipe[0]);
  std::thread writer([&] {
    std::size_t done = 0;
    while (done < stdin_text.size()) {
      const ssize_t w = ::write(in_pipe[1], stdin_text.data() + done, stdin_text.size() - done);
      if (w <= 0) break;
      done += static_cast<std::size_t>(w);
    }
    ::close(in_pipe[1]);
  });
  CommandResult result;
  std::thread err_reader([&] { result.err = readFd(err_pipe[0]); });
  result.out = readFd(out_pipe[0]);
  err_reader.join();
  writer.join();
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

// useradd/userdel/groupadd wait for the account databases' lock held by a parallel test.
void runLocked(const std::vector<std::string>& argv) {
  CommandResult last;
  for (int i = 0; i < 100; ++i) {
    last = run(argv);
    if (last.exit_code == 0) return;
    if (last.err.find("lock") == std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  std::string line;
  for (const auto& a : argv) line += a + " ";
  throw std::runtime_error(line + "failed: " + last.err);
}

HttpResult parseCurl(const CommandResult& r) {
  HttpResult out;
  const auto nl = r.out.rfind('\n');
  const std::string code = nl == std::string::npos ? r.out : r.out.substr(nl + 1);
  out.body = nl == std::string::npos ? "" : r.out.substr(0, nl);
  try {
    out.status = std::stol(code);
  } catch (const std::exception&) {
    out.status = 0;
  }
  if (out.status == 0) out.body += r.err;
  return out;
}

std::vector<std::string> curlArgs(const std::string& method, const std::string& body) {
  std::vector<std::string> args = {"curl", "-sS", "-X", method, "-o", "-", "-w", "\n%{http_code}",
                                   "-H", "Expect:"};
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
    args.insert(args.end(), {"-H", "Content-Type: application/json", "--data-binary", "@-"});
  }
  return args;
}

}  // namespace

nlohmann::json HttpResult::json() const {
  try {
    return nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception&) {
    return nlohmann::json();
  }
}

std::string PlatformDaemon::unavailable() {
  if (::geteuid() != 0) return "platform mode needs root (tool accounts, a root daemon)";
  for (const char* tool : {"/usr/sbin/useradd", "/usr/sbin/userdel", "/usr/bin/setpriv",
                           "/usr/bin/curl", "/usr/bin/openssl"}) {
    if (::access(tool, X_OK) != 0) return std::string(tool) + " is not installed";
  }
  return "";
}

PlatformDaemon::PlatformDaemon(PlatformOptions options) : options_(std::move(options)) {
  prefix_ = "tjft" + std::to_string(::getpid());
  char tmpl[] = "/tmp/tjf-plat-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  root_ = tmpl;
  ::chmod(root_.c_str(), 0755);  // tools reach their homes and the socket through it
  for (const char* dir : {"home", "run", "bin", "certs"}) {
    std::filesystem::create_directories(root_ / dir);
    ::chmod((root_ / dir).c_str(), 0755);
  }
  // The CLI where every account can run it, whatever the build directory's permissions.
  std::filesystem::copy_file(binDir() / "toolforge", root_ / "bin" / "toolforge");
  ::chmod((root_ / "bin" / "toolforge").c_str(), 0755);
  for (const auto& tool : options_.tools) createAccount(tool);

  std::ofstream config(root_ / "tjfd.yaml");
  config << "mode: platform\n"
         << "state_dir: " << stateDir().string() << "\n"
         << "socket: " << socket().string() << "\n"
         << "tool_prefix: " << prefix_ << "\n"
         << "retry_backoff_ms: 100\n"
         << "stop_grace_seconds: 2\n";
  if (options_.tls) {
    makeCertificates();
    config << "listen: 127.0.0.1:0\n"
           << "tls_cert: " << (certsDir() / "server.crt").string() << "\n"
           << "tls_key: " << (certsDir() / "server.key").string() << "\n"
           << "tls_client_ca: " << (certsDir() / "ca" / "ca.crt").string() << "\n";
  }
  config << options_.config_yaml;
  config.close();
  start();
}

PlatformDaemon::~PlatformDaemon() {
  if (pid_ > 0) {
    for (const auto& [name, account] : accounts_) jobs(name, {"flush"});
    stop();
  }
  for (const auto& [name, account] : accounts_) {
    try {
      runLocked({"userdel", account.account});
    } catch (const std::exception&) {
      // Left for the operator to see; nothing else to do in a destructor.
    }
  }
  if (::getgrnam(prefix_.c_str())) {
    try {
      runLocked({"groupdel", prefix_});
    } catch (const std::exception&) {
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(root_, ec);
}

void PlatformDaemon::createAccount(const std::string& tool) {
  ToolAccount a;
  a.tool = tool;
  a.account = prefix_ + "." + tool;
  a.home = root_ / "home" / tool;
  if (::getpwnam(a.account.c_str())) runLocked({"userdel", a.account});
  runLocked({"useradd", "--no-create-home", "--home-dir", a.home.string(), "--user-group",
             "--shell", "/bin/sh", a.account});
  const passwd* pw = ::getpwnam(a.account.c_str());
  if (!pw) throw std::runtime_error("account " + a.account + " was not created");
  a.uid = pw->pw_uid;
  a.gid = pw->pw_gid;
  std::filesystem::create_directories(a.home);
  ::chown(a.home.c_str(), a.uid, a.gid);
  ::chmod(a.home.c_str(), 0750);
  accounts_[tool] = a;
}

void PlatformDaemon::makeCertificates() {
  const std::string script = std::string(TJF_SCRIPTS_DIR) + "/issue-tool-cert.sh";
  const auto dir = certsDir();
  auto must = [](const CommandResult& r, const std::string& what) {
    if (r.exit_code != 0) throw std::runtime_error(what + " failed: " + r.err + r.out);
  };
  must(run({script, "ca", (dir / "ca").string()}), "the test CA");
  must(run({script, "server", (dir / "ca").string(), "server", "--ip", "127.0.0.1", "--dns",
            "localhost", "--out", dir.string()}),
       "the server certificate");
  for (const auto& tool : options_.tools) {
    must(run({script, "tool", (dir / "ca").string(), tool, "--out", dir.string()}),
         "the certificate of " + tool);
  }
  must(run({script, "tool", (dir / "ca").string(), "nosuchtool", "--out", dir.string()}),
       "the certificate of an unknown tool");
  // Another CA, and a certificate from it for the first tool.
  must(run({script, "ca", (dir / "other-ca").string()}), "the other CA");
  std::filesystem::create_directories(dir / "other");
  must(run({script, "tool", (dir / "other-ca").string(), options_.tools.front(), "--out",
            (dir / "other").string()}),
       "a certificate from the other CA");
  writeExpiredCertificate(dir / "ca" / "ca.crt", dir / "ca" / "ca.key", options_.tools.front(),
                          dir / "expired.crt", dir / "expired.key");
  // Readable by the tools' accounts, for the CLI test (a throwaway CA).
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    ::chmod(entry.path().c_str(), entry.is_directory() ? 0755 : 0644);
  }
}

void PlatformDaemon::start() {
  pid_ = spawnTjfd(root_ / "tjfd.yaml", root_ / "tjfd.log", 0600);
  const std::regex listening("listening on 127\\.0\\.0\\.1:([0-9]+)");
  const std::size_t log_start = log().size();  // a restart writes after the last start's lines
  const bool up = eventually([&] {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return true;
    }
    if (!std::filesystem::exists(socket()) || httpAsRoot("GET", "/v1/healthz").status != 200) {
      return false;
    }
    if (!options_.tls) return true;
    std::smatch m;
    const std::string text = log().substr(log_start);
    if (!std::regex_search(text, m, listening)) return false;
    tls_port_ = static_cast<unsigned short>(std::stoi(m[1]));
    return true;
  });
  if (!up || pid_ < 0) throw std::runtime_error("tjfd did not start: " + log());
}

void PlatformDaemon::stop(int sig) {
  if (pid_ <= 0) return;
  ::kill(pid_, sig);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  // A sanitizer's report in the daemon's log (Sanitize builds) fails the test that ran it.
  const std::string text = log();
  for (const char* marker : {"AddressSanitizer", "LeakSanitizer", "runtime error:"}) {
    if (const auto at = text.find(marker); at != std::string::npos) {
      ADD_FAILURE() << "tjfd reported " << marker << ":\n"
                    << text.substr(at >= 200 ? at - 200 : 0, 4000);
      break;
    }
  }
}

std::string PlatformDaemon::log() const { return readFile(root_ / "tjfd.log"); }

CommandResult PlatformDaemon::asTool(const std::string& tool, const std::vector<std::string>& argv,
                                     const std::string& stdin_text,
                                     const std::vector<std::string>& env) {
  const ToolAccount& a = accounts_.at(tool);
  std::vector<std::string> all = {"setpriv",       "--reuid=" + std::to_string(a.uid),
                                  "--regid=" + std::to_string(a.gid), "--init-groups",
                                  "--reset-env",   "--",
                                  "env",           "TJF_SOCKET=" + socket().string()};
  all.insert(all.end(), env.begin(), env.end());
  all.insert(all.end(), argv.begin(), argv.end());
  return run(all, stdin_text, a.home);
}

CommandResult PlatformDaemon::asUid(uid_t uid, gid_t gid, const std::vector<std::string>& argv,
                                    const std::filesystem::path& cwd) {
  std::vector<std::string> all = {"setpriv", "--reuid=" + std::to_string(uid),
                                  "--regid=" + std::to_string(gid), "--clear-groups",
                                  "--reset-env", "--"};
  all.insert(all.end(), argv.begin(), argv.end());
  return run(all, "", cwd);
}

HttpResult PlatformDaemon::httpAsUid(uid_t uid, gid_t gid, const std::string& method,
                                     const std::string& path) {
  auto args = curlArgs(method, "");
  args.insert(args.end(), {"--unix-socket", socket().string(), "http://localhost" + path});
  return parseCurl(asUid(uid, gid, args));
}

CommandResult PlatformDaemon::cli(const std::string& tool, const std::vector<std::string>& args,
                                  const std::string& stdin_text) {
  std::vector<std::string> argv = {(root_ / "bin" / "toolforge").string()};
  argv.insert(argv.end(), args.begin(), args.end());
  return asTool(tool, argv, stdin_text);
}

HttpResult PlatformDaemon::http(const std::string& tool, const std::string& method,
                                const std::string& path, const std::string& body) {
  auto args = curlArgs(method, body);
  args.insert(args.end(), {"--unix-socket", socket().string(), "http://localhost" + path});
  return parseCurl(asTool(tool, args, body));
}

HttpResult PlatformDaemon::httpAsRoot(const std::string& method, const std::string& path,
                                      const std::string& body) {
  cli::HttpClient client(cli::Endpoint{socket().string(), ""});
  auto reply = client.request(method, path, body);
  if (!reply) return {0, reply.error().message};
  return {reply->status, reply->body};
}

HttpResult PlatformDaemon::https(const std::string& cert, const std::string& key,
                                 const std::string& method, const std::string& path,
                                 const std::string& body) {
  auto args = curlArgs(method, body);
  args.insert(args.end(), {"--cacert", (certsDir() / "ca" / "ca.crt").string()});
  if (!cert.empty()) args.insert(args.end(), {"--cert", cert, "--key", key});
  args.push_back("https://127.0.0.1:" + std::to_string(tls_port_) + path);
  return parseCurl(run(args, body));
}

void PlatformDaemon::writeHomeFile(const std::string& tool, const std::string& rel,
                                   const std::string& content, bool executable, mode_t mode) {
  const ToolAccount& a = accounts_.at(tool);
  const auto path = a.home / rel;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << content;
  ::chown(path.c_str(), a.uid, a.gid);
  ::chmod(path.c_str(), executable ? 0755 : mode);
}

std::string PlatformDaemon::readHomeFile(const std::string& tool, const std::string& rel) const {
  return readFile(accounts_.at(tool).home / rel);
}

void writeExpiredCertificate(const std::filesystem::path& ca_cert,
                             const std::filesystem::path& ca_key, const std::string& common_name,
                             const std::filesystem::path& cert_out,
                             const std::filesystem::path& key_out) {
  auto fail = [](const std::string& what) { throw std::runtime_error("expired cert: " + what); };
  std::unique_ptr<FILE, decltype(&std::fclose)> ca_file(std::fopen(ca_cert.c_str(), "r"),
                                                       &std::fclose);
  std::unique_ptr<FILE, decltype(&std::fclose)> key_file(std::fopen(ca_key.c_str(), "r"),
                                                        &std::fclose);
  if (!ca_file || !key_file) fail("cannot read the CA");
  std::unique_ptr<X509, decltype(&X509_free)> ca(PEM_read_X509(ca_file.get(), nullptr, nullptr,
                                                               nullptr),
                                                 &X509_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> signer(
      PEM_read_PrivateKey(key_file.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free);
  if (!ca || !signer) fail("cannot parse the CA");
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), &X509_free);
  if (!key || !cert) fail("out of memory");
  X509_set_version(cert.get(), 2);
  unsigned char serial[8];
  RAND_bytes(serial, sizeof serial);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()),
                   static_cast<long>((serial[0] & 0x7f) << 24 | serial[1] << 16 | serial[2] << 8 |
                                     serial[3]));
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -2L * 86400);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), -1L * 86400);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("toolforge"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.get()));
  if (X509_sign(cert.get(), signer.get(), EVP_sha256()) <= 0) fail("cannot sign");
  std::unique_ptr<FILE, decltype(&std::fclose)> out(std::fopen(cert_out.c_str(), "w"),
                                                   &std::fclose);
  std::unique_ptr<FILE, decltype(&std::fclose)> key_o(std::fopen(key_out.c_str(), "w"),
                                                     &std::fclose);
  if (!out || !key_o) fail("cannot write");
  PEM_write_X509(out.get(), cert.get());
  PEM_write_PrivateKey(key_o.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr);
}

}  // namespace tjf::testing
