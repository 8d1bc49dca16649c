#include "harness.hpp"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "cli/http_client.hpp"

extern char** environ;

namespace tjf::testing {
std::string readFd(int fd) {
  std::string out;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  return out;
}

std::string readFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::filesystem::path binDir() { return TJF_BIN_DIR; }

bool eventually(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto delay = std::chrono::milliseconds(1);
  while (true) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(delay);
    delay = std::min(delay * 2, std::chrono::milliseconds(50));
  }
}

TestDaemon::TestDaemon(DaemonOptions options) : options_(std::move(options)) {
  char tmpl[] = "/tmp/tjf-it-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  root_ = tmpl;
  std::filesystem::create_directories(home());
  std::ofstream config(root_ / "tjfd.yaml");
  config << "state_dir: " << stateDir().string() << "\n"
         << "tool: " << options_.tool << "\n"
         << "tool_home: " << home().string() << "\n"
         << "retry_backoff_ms: 100\n"
         << "stop_grace_seconds: 2\n"
         << options_.config_yaml;
  config.close();
  start();
}

TestDaemon::~TestDaemon() {
  if (pid_ > 0) {
    jobs({"flush"});
    stop();
  }
  std::error_code ec;
  std::filesystem::remove_all(root_, ec);
}

FakeKubeApiServer::FakeKubeApiServer(const std::filesystem::path& dir) {
  const std::string bin = (binDir() / "tjf-fake-kube-apiserver").string();
  const std::string url_file = (dir / "fake-apiserver.url").string();
  const std::string log = (dir / "fake-apiserver.log").string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  char* argv[] = {const_cast<char*>(bin.c_str()), const_cast<char*>("--url-file"),
                  const_cast<char*>(url_file.c_str()), const_cast<char*>("--token"),
                  const_cast<char*>(kToken), nullptr};
  const int rc = ::posix_spawn(&pid_, bin.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start " + bin);
  if (!eventually([&] { return std::filesystem::exists(url_file); }, std::chrono::seconds(10))) {
    throw std::runtime_error("the fake API server wrote no URL; see " + log);
  }
  url_ = readFile(url_file);
  while (!url_.empty() && (url_.back() == '\n' || url_.back() == ' ')) url_.pop_back();
}

FakeKubeApiServer::~FakeKubeApiServer() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGTERM);
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

void FakeKubeApiServer::writeKubeconfig(const std::filesystem::path& path) const {
  std::ofstream out(path);
  out << "apiVersion: v1\nkind: Config\ncurrent-context: fake\n"
      << "clusters:\n- name: fake\n  cluster:\n    server: " << url_ << "\n"
      << "users:\n- name: tool\n  user:\n    token: " << kToken << "\n"
      << "contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: tool\n";
}

std::string kubernetesRuntimeConfig(const std::filesystem::path& kubeconfig, const std::string& uid,
                                    const std::string& gid) {
  return "runtime: kubernetes\nkubernetes:\n  kubeconfig: " + kubeconfig.string() +
         "\n  watch_timeout_seconds: 30\n  run_as_uid: " + uid + "\n  run_as_gid: " + gid + "\n";
}

pid_t spawnTjfd(const std::filesystem::path& config_path, const std::filesystem::path& log_path,
                mode_t log_mode) {
  const std::string tjfd = (binDir() / "tjfd").string();
  const std::string config = config_path.string();
  const std::string log = log_path.string();
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, log_mode);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, log_mode);
  char* argv[] = {const_cast<char*>(tjfd.c_str()), const_cast<char*>("--config"),
                  const_cast<char*>(config.c_str()), nullptr};
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, tjfd.c_str(), &actions, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot start tjfd");
  return pid;
}

void TestDaemon::start() {
  pid_ = spawnTjfd(root_ / "tjfd.yaml", root_ / "tjfd.log", 0644);
  const bool up = eventually([&] {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return true;
    }
    return std::filesystem::exists(socket()) && http("GET", "/v1/healthz").first == 200;
  });
  if (!up || pid_ < 0) {
    throw std::runtime_error("tjfd did not start: " + readFile(root_ / "tjfd.log"));
  }
}

void TestDaemon::stop(int sig) {
  if (pid_ <= 0) return;
  ::kill(pid_, sig);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

CommandResult TestDaemon::exec(const std::vector<std::string>& args, const std::string& stdin_text) {
  int out_pipe[2], err_pipe[2], in_pipe[2];
  if (::pipe(out_pipe) != 0 || ::pipe(err_pipe) != 0 || ::pipe(in_pipe) != 0) {
    throw std::runtime_error("pipe failed");
  }
  const pid_t child = ::fork();
  if (child == 0) {
    ::dup2(in_pipe[0], 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1], in_pipe[0], in_pipe[1]}) {
      ::close(fd);
    }
    ::setenv("TJF_STATE_DIR", stateDir().c_str(), 1);
    ::unsetenv("TJF_SOCKET");
    ::unsetenv("TJF_URL");
    ::unsetenv("TJF_TOOL");
    ::chdir(home().c_str());
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  ::close(in_pipe[0]);
  if (!stdin_text.empty()) {
    ssize_t ignored = ::write(in_pipe[1], stdin_text.data(), stdin_text.size());
    (void)ignored;
  }
  ::close(in_pipe[1]);
  CommandResult result;
  std::thread err_reader([&] { result.err = readFd(err_pipe[0]); });
  result.out = readFd(out_pipe[0]);
  err_reader.join();
  ::close(out_pipe[0]);
  ::close(err_pipe[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

CommandResult TestDaemon::jobs(const std::vector<std::string>& args, const std::string& stdin_text) {
  std::vector<std::string> argv = {(binDir() / "toolforge").string(), "jobs"};
  argv.insert(argv.end(), args.begin(), args.end());
  return exec(argv, stdin_text);
}

std::pair<long, std::string> TestDaemon::http(const std::string& method, const std::string& path,
                                              const std::string& body) {
  cli::HttpClient client(cli::Endpoint{socket().string(), ""});
  auto reply = client.request(method, path, body);
  if (!reply) return {0, reply.error().message};
  return {reply->status, reply->body};
}

nlohmann::json TestDaemon::showJson(const std::string& name) {
  const auto [status, body] = http("GET", "/v1/tool/" + tool() + "/jobs/" + name);
  if (status != 200) return nlohmann::json();
  return nlohmann::json::parse(body).at("job");
}

void TestDaemon::writeHomeFile(const std::string& rel, const std::string& content,
                               bool executable) {
  const auto path = home() / rel;
  std::filesystem::create_directories(path.parent_path());
  std::ofstream(path) << content;
  ::chmod(path.c_str(), executable ? 0755 : 0644);
}

std::string TestDaemon::readHomeFile(const std::string& rel) const {
  return readFile(home() / rel);
}

}  // namespace tjf::testing
