// FakeCluster: see fake_cluster.hpp. A FAKE for tests: what it plays, and what it does not, is
// listed there and in docs/kubernetes.md ("The fake cluster (tests only)").
#include "fake_cluster.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <ctime>
#include <future>
#include <random>
#include <sstream>

#include "base/time_format.hpp"
#include "base/unique_fd.hpp"
#include "cron/schedule.hpp"
#include "kubernetes/client.hpp"       // resourcePath
#include "kubernetes/run_mapping.hpp"  // parseKubernetesTime
#include "model/quantity.hpp"

namespace tjf::kubernetes::testing {
namespace {

using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;

// Kubernetes' rand.String alphabet (no vowels, no look-alikes), for generated names.
constexpr std::string_view kNameAlphabet = "bcdfghjklmnpqrstvwxz2456789";
constexpr std::string_view kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
constexpr std::string_view kNodeName = "tjf-fake-node";
constexpr std::string_view kContainerIdPrefix = "fake-process://";
// A container that ran this long restarts after the first back-off again (Kubernetes: 10 min).
constexpr auto kBackoffResetAfter = 10s;
// How long a stopped container's output may still arrive after its main process ended.
constexpr auto kOutputDrain = 1s;
// A line longer than this without a newline is logged in pieces.
constexpr std::size_t kMaxLine = 16 * 1024;

// ---------------------------------------------------------------------------------------------
// Small helpers: names, times, JSON access.

std::string randomString(std::size_t n) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += kNameAlphabet[rng() % kNameAlphabet.size()];
  return out;
}

std::string newUid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const int group : {8, 4, 4, 4, 12}) {
    if (!out.empty()) out += '-';
    for (int i = 0; i < group; ++i) out += kHex[rng() % 16];
  }
  return out;
}

std::string rfc3339(TimePoint t) { return formatIsoUtc(t); }

// RFC 3339 with nanoseconds, as the kubelet stamps log lines.
std::string rfc3339Nano(TimePoint t) {
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  std::tm tm{};
  ::gmtime_r(&secs, &tm);
  char head[32];
  std::strftime(head, sizeof head, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%s.%09lldZ", head, static_cast<long long>(ns % 1'000'000'000));
  return out;
}

std::string str(const json& object, const char* pointer) {
  const json::json_pointer p(pointer);
  if (!object.contains(p) || !object[p].is_string()) return "";
  return object[p].get<std::string>();
}
std::string nameOf(const json& o) { return str(o, "/metadata/name"); }
std::string nsOf(const json& o) { return str(o, "/metadata/namespace"); }
std::string uidOf(const json& o) { return str(o, "/metadata/uid"); }

std::optional<long long> intAt(const json& object, const char* pointer) {
  const json::json_pointer p(pointer);
  if (!object.contains(p) || !object[p].is_number_integer()) return std::nullopt;
  return object[p].get<long long>();
}

std::optional<TimePoint> timeAt(const json& object, const char* pointer) {
  const std::string text = str(object, pointer);
  if (text.empty()) return std::nullopt;
  return parseKubernetesTime(text);
}

bool deleting(const json& o) { return o.contains("/metadata/deletionTimestamp"_json_pointer); }

bool hasFinalizer(const json& o, std::string_view finalizer) {
  const auto list = o.value("/metadata/finalizers"_json_pointer, json::array());
  return std::any_of(list.begin(), list.end(), [&](const json& f) { return f == finalizer; });
}

std::string phaseOf(const json& pod) { return str(pod, "/status/phase"); }
bool terminal(const json& pod) {
  const std::string phase = phaseOf(pod);
  return phase == "Succeeded" || phase == "Failed";
}

const json* conditionOf(const json& object, std::string_view type) {
  const json::json_pointer p("/status/conditions");
  if (!object.contains(p) || !object[p].is_array()) return nullptr;
  for (const auto& c : object[p]) {
    if (c.value("type", "") == type) return &c;
  }
  return nullptr;
}
bool conditionTrue(const json& object, std::string_view type) {
  const json* c = conditionOf(object, type);
  return c && c->value("status", "") == "True";
}
bool jobDone(const json& job) { return conditionTrue(job, "Complete") || conditionTrue(job, "Failed"); }

// Replaces or adds `condition` in `conditions`, keeping the transition (and update) times of the
// old entry while its status (and reason/message) stay the same, so a repeated pass writes
// nothing new.
void putCondition(json& conditions, json condition, TimePoint now, bool update_time = false,
                  bool probe_time = false) {
  if (!conditions.is_array()) conditions = json::array();
  const std::string stamp = rfc3339(now);
  json* old = nullptr;
  for (auto& c : conditions) {
    if (c.value("type", "") == condition.value("type", "")) old = &c;
  }
  const bool same_status = old && old->value("status", "") == condition.value("status", "");
  const bool same_words = same_status && old->value("reason", "") == condition.value("reason", "") &&
                          old->value("message", "") == condition.value("message", "");
  condition["lastTransitionTime"] = same_status ? old->value("lastTransitionTime", stamp) : stamp;
  if (update_time) condition["lastUpdateTime"] = same_words ? old->value("lastUpdateTime", stamp) : stamp;
  if (probe_time) condition["lastProbeTime"] = same_words ? old->value("lastProbeTime", stamp) : stamp;
  if (old) *old = std::move(condition);
  else conditions.push_back(std::move(condition));
}

void dropCondition(json& conditions, std::string_view type) {
  if (!conditions.is_array()) return;
  for (auto it = conditions.begin(); it != conditions.end();) {
    if (it->value("type", "") == type) it = conditions.erase(it);
    else ++it;
  }
}

json ownerRef(const json& owner) {
  return {{"apiVersion", owner.value("apiVersion", "")}, {"kind", owner.value("kind", "")},
          {"name", nameOf(owner)}, {"uid", uidOf(owner)}, {"controller", true},
          {"blockOwnerDeletion", true}};
}

bool ownedBy(const json& object, const std::string& uid) {
  const auto refs = object.value("/metadata/ownerReferences"_json_pointer, json::array());
  return std::any_of(refs.begin(), refs.end(), [&](const json& r) { return r.value("uid", "") == uid; });
}

std::string podPath(const std::string& ns, const std::string& name) {
  return resourcePath("v1", "pods", ns, name);
}
std::string jobPath(const std::string& ns, const std::string& name) {
  return resourcePath("batch/v1", "jobs", ns, name);
}

// Where an object of this apiVersion/kind is stored.
std::string pathOf(const json& o) {
  static const std::map<std::string, std::string> kResources = {
      {"Pod", "pods"}, {"Job", "jobs"}, {"CronJob", "cronjobs"}, {"Deployment", "deployments"},
      {"Event", "events"}, {"ResourceQuota", "resourcequotas"}, {"LimitRange", "limitranges"},
      {"Service", "services"}};
  const auto it = kResources.find(o.value("kind", ""));
  return resourcePath(o.value("apiVersion", "v1"), it == kResources.end() ? "unknown" : it->second,
                      nsOf(o), nameOf(o));
}

// The parts of an object path: /api/v1/namespaces/<ns>/<resource>/<name> or the same under
// /apis/<group>/<version>.
struct ObjectPath {
  std::string group_version, ns, resource, name;
};
std::optional<ObjectPath> parsePath(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream s(path);
  for (std::string part; std::getline(s, part, '/');) {
    if (!part.empty()) parts.push_back(part);
  }
  ObjectPath out;
  std::size_t i = 0;
  if (parts.size() >= 2 && parts[0] == "api") {
    out.group_version = parts[1];
    i = 2;
  } else if (parts.size() >= 3 && parts[0] == "apis") {
    out.group_version = parts[1] + "/" + parts[2];
    i = 3;
  } else {
    return std::nullopt;
  }
  if (parts.size() < i + 3 || parts[i] != "namespaces") return std::nullopt;
  out.ns = parts[i + 1];
  out.resource = parts[i + 2];
  if (parts.size() > i + 3) out.name = parts[i + 3];
  return out;
}

// Go's time.Duration formatting for the back-off message ("100ms", "1.6s", "2s").
std::string goDuration(Millis d) {
  if (d < 1s) return std::to_string(d.count()) + "ms";
  std::string text = std::to_string(d.count() / 1000);
  if (const auto rest = d.count() % 1000; rest != 0) {
    char frac[8];
    std::snprintf(frac, sizeof frac, "%03lld", static_cast<long long>(rest));
    std::string f = frac;
    while (!f.empty() && f.back() == '0') f.pop_back();
    text += "." + f;
  }
  return text + "s";
}

// ---------------------------------------------------------------------------------------------
// Quantities, as ResourceQuota and LimitRange compare and print them.

std::optional<long double> quantityValue(const json& v) {
  if (v.is_number()) return v.get<long double>();
  if (!v.is_string()) return std::nullopt;
  auto q = model::parseQuantity(v.get<std::string>());
  if (!q) return std::nullopt;
  return q->value;
}

bool isCpu(std::string_view resource) { return resource.find("cpu") != std::string_view::npos; }
bool isMemory(std::string_view resource) {
  return resource.find("memory") != std::string_view::npos || resource.find("storage") != std::string_view::npos;
}

// The canonical text of a quantity (as Quantity.String() prints it for the usual values): memory
// with the largest exact binary suffix (or decimal), CPU as whole cores or millicores, counts as
// integers.
std::string formatQuantity(std::string_view resource, long double value) {
  if (value == 0) return "0";
  if (isCpu(resource)) {
    const long long millis = std::llround(value * 1000);
    return millis % 1000 == 0 ? std::to_string(millis / 1000) : std::to_string(millis) + "m";
  }
  const long long n = std::llround(value);
  if (isMemory(resource)) {
    static constexpr std::pair<const char*, long long> kBinary[] = {
        {"Ei", 1LL << 60}, {"Pi", 1LL << 50}, {"Ti", 1LL << 40}, {"Gi", 1LL << 30}, {"Mi", 1LL << 20}, {"Ki", 1LL << 10}};
    for (const auto& [suffix, unit] : kBinary) {
      if (n % unit == 0) return std::to_string(n / unit) + suffix;
    }
    static constexpr std::pair<const char*, long long> kDecimal[] = {
        {"E", 1'000'000'000'000'000'000LL}, {"P", 1'000'000'000'000'000LL}, {"T", 1'000'000'000'000LL},
        {"G", 1'000'000'000LL}, {"M", 1'000'000LL}, {"k", 1000LL}};
    for (const auto& [suffix, unit] : kDecimal) {
      if (n % unit == 0) return std::to_string(n / unit) + suffix;
    }
  }
  return std::to_string(n);
}

using Usage = std::map<std::string, long double>;

// What one pod counts against a quota: pods, and its containers' requests and limits.
Usage podUsage(const json& pod) {
  Usage u{{"pods", 1}, {"count/pods", 1}};
  for (const auto& c : pod.value("/spec/containers"_json_pointer, json::array())) {
    const json resources = c.value("resources", json::object());
    for (const char* kind : {"requests", "limits"}) {
      const json quantities = resources.value(kind, json::object());  // items() does not own it
      for (const auto& [name, value] : quantities.items()) {
        const auto v = quantityValue(value);
        if (!v) continue;
        u[std::string(kind) + "." + name] += *v;
        if (std::string_view(kind) == "requests") u[name] += *v;  // "cpu" and "memory" mean requests
      }
    }
  }
  return u;
}

std::string joinQuantities(const std::vector<std::string>& keys, const Usage& values) {
  std::string out;
  for (const auto& k : keys) {
    if (!out.empty()) out += ',';
    const auto it = values.find(k);
    out += k + "=" + formatQuantity(k, it == values.end() ? 0 : it->second);
  }
  return out;
}

std::string qosClass(const json& pod) {
  bool any = false, guaranteed = true;
  for (const auto& c : pod.value("/spec/containers"_json_pointer, json::array())) {
    const json limits = c.value("/resources/limits"_json_pointer, json::object());
    const json requests = c.value("/resources/requests"_json_pointer, json::object());
    any = any || !limits.empty() || !requests.empty();
    for (const char* r : {"cpu", "memory"}) {
      if (!limits.contains(r) || (requests.contains(r) && quantityValue(requests[r]) != quantityValue(limits[r]))) {
        guaranteed = false;
      }
    }
  }
  return !any ? "BestEffort" : guaranteed ? "Guaranteed" : "Burstable";
}

// A CronJob schedule as Kubernetes reads it: 5 fields, or a macro with its fixed meaning (the
// cron module spreads macros the Toolforge way, which Kubernetes does not).
Result<cron::Schedule> parseCronSchedule(std::string text, const std::string& time_zone) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.erase(0, 1);
  static const std::map<std::string, std::string> kMacros = {
      {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
      {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"}};
  if (const auto it = kMacros.find(text); it != kMacros.end()) text = it->second;
  if (text.rfind("TZ=", 0) == 0 || text.rfind("CRON_TZ=", 0) == 0) {
    return invalidArgument("cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
  }
  return cron::parseSchedule(text, "fake", "fake", time_zone.empty() ? "UTC" : time_zone);
}

// pod-template-hash: a stable 10-character hash of the template (FNV-1a, 64 bits).
std::string templateHash(const json& pod_template) {
  std::uint64_t h = 1469598103934665603ULL;
  for (const unsigned char c : pod_template.dump()) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  std::string out;
  for (int i = 0; i < 10; ++i) {
    out += kNameAlphabet[h % kNameAlphabet.size()];
    h /= kNameAlphabet.size();
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Processes.

// A started process: its pid (still to be reaped), a pidfd, and the read end of its merged
// stdout+stderr.
struct Spawned {
  pid_t pid = -1;
  UniqueFd pidfd;
  UniqueFd output;
};

// Forks and execs `argv` with `env` in `cwd`, as the leader of a new process group, stdin from
// /dev/null, stdout and stderr into one pipe. Everything the child does before exec is
// async-signal-safe (this process has threads). Errors say why exec or chdir failed.
Result<Spawned> spawn(const std::vector<std::string>& argv, const std::vector<std::string>& env,
                      const std::string& cwd) {
  if (argv.empty()) return invalidArgument("no command to run");
  std::string path_var(kDefaultPath);
  for (const auto& kv : env) {
    if (kv.rfind("PATH=", 0) == 0) path_var = kv.substr(5);
  }
  std::vector<std::string> candidates;
  if (argv[0].find('/') != std::string::npos) {
    candidates.push_back(argv[0]);
  } else {
    std::stringstream dirs(path_var);
    for (std::string dir; std::getline(dirs, dir, ':');) {
      candidates.push_back((dir.empty() ? "." : dir) + "/" + argv[0]);
    }
  }
  std::vector<char*> c_argv, c_env;
  for (const auto& a : argv) c_argv.push_back(const_cast<char*>(a.c_str()));
  c_argv.push_back(nullptr);
  for (const auto& e : env) c_env.push_back(const_cast<char*>(e.c_str()));
  c_env.push_back(nullptr);

  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return systemError("pipe", errno);
  UniqueFd out_r(out[0]), out_w(out[1]);
  if (::pipe2(err, O_CLOEXEC) != 0) return systemError("pipe", errno);
  UniqueFd err_r(err[0]), err_w(err[1]);
  UniqueFd devnull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  struct Failure {
    int stage;  // 0 chdir, 1 exec
    int err;
  };
  const pid_t pid = ::fork();
  if (pid < 0) return systemError("fork", errno);
  if (pid == 0) {
    ::setpgid(0, 0);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; ++s) ::sigaction(s, &dfl, nullptr);
    ::dup2(devnull.get(), 0);
    ::dup2(out_w.get(), 1);
    ::dup2(out_w.get(), 2);
    ::dup2(err_w.get(), 3);
    ::fcntl(3, F_SETFD, FD_CLOEXEC);
    ::syscall(SYS_close_range, 4U, ~0U, 0U);
    Failure failure{0, 0};
    if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
      failure = {0, errno};
    } else {
      failure = {1, ENOENT};
      for (const auto& candidate : candidates) {
        ::execve(candidate.c_str(), c_argv.data(), c_env.data());
        if (errno != ENOENT || failure.err == ENOENT) failure.err = errno;
      }
    }
    [[maybe_unused]] auto n = ::write(3, &failure, sizeof failure);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here: the parent must not signal a group that does not exist yet
  out_w.reset();
  err_w.reset();
  Failure failure{};
  ssize_t n;
  do {
    n = ::read(err_r.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof failure)) {
    ::waitpid(pid, nullptr, 0);
    if (failure.stage == 0) {
      return makeError(ErrorCode::kInvalidArgument,
                       "chdir to '" + cwd + "': " + std::strerror(failure.err));
    }
    if (failure.err == ENOENT && argv[0].find('/') == std::string::npos) {
      return makeError(ErrorCode::kInvalidArgument,
                       "exec: \"" + argv[0] + "\": executable file not found in $PATH");
    }
    return makeError(ErrorCode::kInvalidArgument,
                     "exec: \"" + argv[0] + "\": " + std::strerror(failure.err));
  }
  Spawned s;
  s.pid = pid;
  s.pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  s.output = std::move(out_r);
  if (!s.pidfd.valid()) {
    const int e = errno;
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    return systemError("pidfd_open", e);
  }
  return s;
}

// Waits for a readable fd up to `timeout`; true if readable (or hung up).
bool waitReadable(int fd, Millis timeout) {
  pollfd p{fd, POLLIN, 0};
  int rc;
  do {
    rc = ::poll(&p, 1, static_cast<int>(timeout.count()));
  } while (rc < 0 && errno == EINTR);
  return rc > 0;
}

// strerror as Go's syscall errors print it ("connection refused").
std::string goError(int err) {
  std::string text = std::strerror(err);
  if (!text.empty()) text[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(text[0])));
  return text;
}

// A TCP connection to 127.0.0.1:port within `timeout`, or an error message like Go's dialer.
Result<UniqueFd> dial(const std::string& host, int port, Millis timeout) {
  const std::string where = host + ":" + std::to_string(port);
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return systemError("socket", errno);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1) {
    return invalidArgument("dial tcp " + where + ": not an IPv4 address");
  }
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) return invalidArgument("dial tcp " + where + ": connect: " + goError(errno));
    pollfd p{fd.get(), POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) {
      return invalidArgument("dial tcp " + where + ": i/o timeout");
    }
    int error = 0;
    socklen_t len = sizeof error;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &error, &len);
    if (error != 0) return invalidArgument("dial tcp " + where + ": connect: " + goError(error));
  }
  return fd;
}

struct Probe {
  enum class Kind { kExec, kHttp, kTcp } kind = Kind::kExec;
  std::vector<std::string> command;
  std::string path = "/";
  std::string host = "127.0.0.1";
  int port = 0;
  int initial_delay = 0;
  int period = 10;
  int timeout = 1;
  int success_threshold = 1;
  int failure_threshold = 3;
};

struct LaunchSpec {
  std::string ns;
  std::string pod;
  std::vector<std::string> argv;
  std::vector<std::string> env;
  std::string cwd;
  std::optional<Probe> startup, liveness, readiness;
};

}  // namespace

// ---------------------------------------------------------------------------------------------
// What the kubelet part knows about one container and its probes.

// From a supervisor thread to the controller thread.
struct FakeCluster::ContainerReport {
  // kProbeFailed: a failed readiness probe, below or at its threshold (the kubelet's event).
  enum class Kind { kExited, kStarted, kReady, kNotReady, kProbeFailed, kUnhealthy } kind = Kind::kExited;
  int exit_code = 0;
  int signal = 0;
  bool start_error = false;
  bool startup_probe = false;  // kUnhealthy: the startup probe (else liveness) failed
  TimePoint at{};
  std::string message;
};

// One running container: the main process (leader of its own process group), its output pipe,
// and a supervisor thread that logs the output, runs the probes and reports the exit. The
// destructor kills whatever still runs and reaps it.
class FakeCluster::Container {
 public:
  using Report = std::function<void(const ContainerReport&)>;

  static Result<std::unique_ptr<Container>> start(FakeCluster& cluster, LaunchSpec spec, Report report) {
    auto spawned = spawn(spec.argv, spec.env, spec.cwd);
    if (!spawned) return tl::unexpected(spawned.error());
    UniqueFd wake(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!wake.valid()) {
      ::kill(-spawned->pid, SIGKILL);
      ::waitpid(spawned->pid, nullptr, 0);
      return systemError("eventfd", errno);
    }
    {
      std::lock_guard lock(cluster.pids_mutex_);
      cluster.pids_.insert(spawned->pid);
    }
    return std::unique_ptr<Container>(
        new Container(cluster, std::move(spec), std::move(*spawned), std::move(wake), std::move(report)));
  }

  ~Container() {
    stopping_ = true;
    const std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_.get(), &one, sizeof one);
    if (thread_.joinable()) thread_.join();
    reap(SIGKILL);
    cluster_.server_.closeLog(spec_.ns, spec_.pod);
  }

  pid_t pid() const { return pid_; }

  // Signals the whole process group (the container), unless it has been reaped already.
  void signal(int sig) {
    std::lock_guard lock(mutex_);
    if (!reaped_) ::kill(-pid_, sig);
  }

 private:
  Container(FakeCluster& cluster, LaunchSpec spec, Spawned spawned, UniqueFd wake, Report report)
      : cluster_(cluster), spec_(std::move(spec)), pid_(spawned.pid), pidfd_(std::move(spawned.pidfd)),
        output_(std::move(spawned.output)), wake_(std::move(wake)), report_(std::move(report)),
        thread_([this] { supervise(); }) {}

  // Kills what is left of the container and reaps the main process; returns its wait status.
  int reap(int sig) {
    int status = 0;
    {
      std::lock_guard lock(mutex_);
      if (reaped_) return reaped_status_;
      // The main process is a zombie or still running, so its pid (the group id) is not reused yet.
      ::kill(-pid_, sig);
      while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      reaped_ = true;
      reaped_status_ = status;
    }
    std::lock_guard lock(cluster_.pids_mutex_);
    cluster_.pids_.erase(pid_);
    cluster_.pids_changed_.notify_all();
    return status;
  }

  void emitLines(bool flush) {
    std::size_t start = 0;
    for (auto nl = pending_.find('\n'); nl != std::string::npos; nl = pending_.find('\n', start)) {
      cluster_.server_.appendLog(spec_.ns, spec_.pod, pending_.substr(start, nl - start),
                                 rfc3339Nano(cluster_.now()));
      start = nl + 1;
    }
    pending_.erase(0, start);
    if ((flush && !pending_.empty()) || pending_.size() > kMaxLine) {
      cluster_.server_.appendLog(spec_.ns, spec_.pod, pending_, rfc3339Nano(cluster_.now()));
      pending_.clear();
    }
  }

  // Reads what is there; false at end of file.
  bool readOutput() {
    char buf[65536];
    const ssize_t n = ::read(output_.get(), buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
    if (n <= 0) {
      emitLines(true);
      output_.reset();
      return false;
    }
    pending_.append(buf, static_cast<std::size_t>(n));
    emitLines(false);
    return true;
  }

  void exited() {
    // Kubernetes stops the whole container when its main process ends.
    const int status = reap(SIGKILL);
    const auto drain_until = std::chrono::steady_clock::now() + kOutputDrain;
    while (output_.valid()) {
      const auto left = std::chrono::duration_cast<Millis>(drain_until - std::chrono::steady_clock::now());
      if (left <= Millis(0) || !waitReadable(output_.get(), left)) break;
      readOutput();
    }
    emitLines(true);
    cluster_.server_.closeLog(spec_.ns, spec_.pod);
    ContainerReport r{.kind = ContainerReport::Kind::kExited, .at = cluster_.now()};
    if (WIFEXITED(status)) {
      r.exit_code = WEXITSTATUS(status);
    } else if (WIFSIGNALED(status)) {
      r.signal = WTERMSIG(status);
      r.exit_code = 128 + r.signal;
    }
    report_(r);
  }

  // Runs one probe; the message says why it failed (as the kubelet's Unhealthy events do).
  bool probe(const Probe& p, std::string* message) {
    const Millis timeout = std::chrono::seconds(std::max(1, p.timeout));
    if (p.kind == Probe::Kind::kExec) {
      auto spawned = spawn(p.command, spec_.env, spec_.cwd);
      if (!spawned) {
        *message = spawned.error().message;
        return false;
      }
      const bool done = waitReadable(spawned->pidfd.get(), timeout);
      if (!done) ::kill(-spawned->pid, SIGKILL);
      int status = 0;
      ::waitpid(spawned->pid, &status, 0);
      std::string out;
      ::fcntl(spawned->output.get(), F_SETFL, O_NONBLOCK);
      char buf[4096];
      ssize_t n;
      while ((n = ::read(spawned->output.get(), buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
      if (!done) {
        *message = "command timed out";
        return false;
      }
      *message = out;
      return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    auto conn = dial(p.host, p.port, timeout);
    if (!conn) {
      *message = conn.error().message;
      return false;
    }
    if (p.kind == Probe::Kind::kTcp) return true;
    const std::string where = p.host + ":" + std::to_string(p.port);
    const std::string url = "http://" + where + p.path;
    const std::string request = "GET " + p.path + " HTTP/1.1\r\nHost: " + where +
                                "\r\nUser-Agent: kube-probe/1.29\r\nAccept: */*\r\nConnection: close\r\n\r\n";
    if (::send(conn->get(), request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
      *message = "Get \"" + url + "\": write failed";
      return false;
    }
    std::string reply;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (reply.find("\r\n") == std::string::npos) {
      const auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
      if (left <= Millis(0) || !waitReadable(conn->get(), left)) {
        *message = "Get \"" + url + "\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)";
        return false;
      }
      char buf[1024];
      const ssize_t n = ::recv(conn->get(), buf, sizeof buf, 0);
      if (n <= 0) {
        *message = "Get \"" + url + "\": EOF";
        return false;
      }
      reply.append(buf, static_cast<std::size_t>(n));
    }
    int code = 0;
    std::sscanf(reply.c_str(), "HTTP/%*s %d", &code);
    if (code >= 200 && code < 400) return true;
    *message = "HTTP probe failed with statuscode: " + std::to_string(code);
    return false;
  }

  // The supervisor thread: output, probes, exit.
  void supervise() {
    using Steady = std::chrono::steady_clock;
    struct Run {
      const Probe* probe;
      int which;  // 0 startup, 1 liveness, 2 readiness
      bool active;
      Steady::time_point due;
      int failures = 0;
      int successes = 0;
    };
    const auto start = Steady::now();
    bool started = !spec_.startup;
    bool ready = !spec_.startup && !spec_.readiness;
    std::vector<Run> runs;
    auto delay = [](const Probe& p) { return std::chrono::seconds(std::max(0, p.initial_delay)); };
    if (spec_.startup) runs.push_back({&*spec_.startup, 0, true, start + delay(*spec_.startup)});
    if (spec_.liveness) runs.push_back({&*spec_.liveness, 1, started, start + delay(*spec_.liveness)});
    if (spec_.readiness) runs.push_back({&*spec_.readiness, 2, started, start + delay(*spec_.readiness)});
    while (!stopping_) {
      int timeout = -1;
      for (const auto& r : runs) {
        if (!r.active) continue;
        const auto left = std::chrono::duration_cast<Millis>(r.due - Steady::now()).count();
        timeout = static_cast<int>(std::max<long long>(0, timeout < 0 ? left : std::min<long long>(timeout, left)));
      }
      pollfd fds[3] = {{wake_.get(), POLLIN, 0}, {pidfd_.get(), POLLIN, 0}, {output_.get(), POLLIN, 0}};
      const int rc = ::poll(fds, output_.valid() ? 3 : 2, timeout);
      if (stopping_) return;
      if (rc < 0 && errno != EINTR) return;
      if (output_.valid() && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) readOutput();
      if (fds[1].revents & POLLIN) {
        exited();
        return;
      }
      for (auto& r : runs) {
        if (!r.active || Steady::now() < r.due) continue;
        std::string message;
        const bool ok = probe(*r.probe, &message);
        if (stopping_) return;
        r.due = Steady::now() + std::chrono::seconds(std::max(1, r.probe->period));
        if (ok) {
          r.failures = 0;
          ++r.successes;
        } else {
          r.successes = 0;
          ++r.failures;
        }
        if (r.which == 0) {
          if (ok) {
            r.active = false;
            started = true;
            report_({.kind = ContainerReport::Kind::kStarted, .at = cluster_.now()});
            for (auto& other : runs) {
              if (other.which != 0) {
                other.active = true;
                other.due = Steady::now() + delay(*other.probe);
              }
            }
            if (!spec_.readiness) {
              ready = true;
              report_({.kind = ContainerReport::Kind::kReady, .at = cluster_.now()});
            }
          } else if (r.failures >= std::max(1, r.probe->failure_threshold)) {
            for (auto& other : runs) other.active = false;
            report_({.kind = ContainerReport::Kind::kUnhealthy, .startup_probe = true, .at = cluster_.now(),
                     .message = "Startup probe failed: " + message});
          }
        } else if (r.which == 1) {
          if (!ok && r.failures >= std::max(1, r.probe->failure_threshold)) {
            for (auto& other : runs) other.active = false;
            report_({.kind = ContainerReport::Kind::kUnhealthy, .at = cluster_.now(),
                     .message = "Liveness probe failed: " + message});
          }
        } else if (ok && !ready && r.successes >= std::max(1, r.probe->success_threshold)) {
          ready = true;
          report_({.kind = ContainerReport::Kind::kReady, .at = cluster_.now()});
        } else if (!ok) {
          const bool flip = ready && r.failures >= std::max(1, r.probe->failure_threshold);
          if (flip) ready = false;
          report_({.kind = flip ? ContainerReport::Kind::kNotReady : ContainerReport::Kind::kProbeFailed,
                   .at = cluster_.now(), .message = "Readiness probe failed: " + message});
        }
      }
    }
  }

  FakeCluster& cluster_;
  LaunchSpec spec_;
  pid_t pid_;
  UniqueFd pidfd_;
  UniqueFd output_;
  UniqueFd wake_;
  Report report_;
  std::mutex mutex_;  // signals against reaping: a reaped pid may be reused
  bool reaped_ = false;
  int reaped_status_ = 0;
  std::atomic<bool> stopping_{false};
  std::string pending_;  // output after the last newline
  std::thread thread_;   // last: starts once everything above exists
};

// The kubelet's record of one pod (controller thread only).
struct FakeCluster::PodState {
  enum class Phase { kNew, kWaiting, kRunning, kBackoff, kTerminated };
  std::string uid;
  std::string ns;
  std::string name;
  Phase phase = Phase::kNew;
  std::unique_ptr<Container> container;
  long long instance = 0;  // of the current container: reports of older ones are stale
  pid_t pid = 0;           // of the current or last container
  TimePoint pod_started{};
  TimePoint container_started{};
  std::string waiting_reason;
  std::string waiting_message;
  json last_terminated;  // lastState.terminated
  json terminated;       // state.terminated, once final
  std::string final_phase;
  int restart_count = 0;
  Millis backoff{0};
  TimePoint next_start{};
  bool started = false;
  bool ready = false;
  bool terminating = false;  // SIGTERM sent
  bool killed = false;       // SIGKILL sent
  TimePoint kill_at{};
  std::filesystem::path temp_dir;

  ~PodState() {
    container.reset();
    if (!temp_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(temp_dir, ec);
    }
  }
};


namespace {

// ---------------------------------------------------------------------------------------------
// API defaulting, validation and admission (what the API server and its admission plugins do).

json& objectAt(json& parent, const char* key) {
  json& child = parent[key];
  if (!child.is_object()) child = json::object();
  return child;
}

// Pod defaulting (SetDefaults_Pod and friends), for the fields a kubelet or a reader looks at.
void podDefaults(json& pod) {
  json& spec = objectAt(pod, "spec");
  if (!spec.contains("restartPolicy")) spec["restartPolicy"] = "Always";
  if (!spec.contains("terminationGracePeriodSeconds")) spec["terminationGracePeriodSeconds"] = 30;
  if (!spec.contains("dnsPolicy")) spec["dnsPolicy"] = "ClusterFirst";
  if (!spec.contains("schedulerName")) spec["schedulerName"] = "default-scheduler";
  if (!spec.contains("containers") || !spec["containers"].is_array()) return;
  for (auto& c : spec["containers"]) {
    if (!c.is_object()) continue;
    if (!c.contains("terminationMessagePath")) c["terminationMessagePath"] = "/dev/termination-log";
    if (!c.contains("terminationMessagePolicy")) c["terminationMessagePolicy"] = "File";
    if (!c.contains("imagePullPolicy")) {
      const std::string image = c.value("image", "");
      const auto slash = image.rfind('/');
      const std::string last = slash == std::string::npos ? image : image.substr(slash + 1);
      const bool latest = last.find(':') == std::string::npos || last.ends_with(":latest");
      c["imagePullPolicy"] = latest ? "Always" : "IfNotPresent";
    }
    // A limit without a request makes the request equal to the limit.
    if (c.contains("resources") && c["resources"].contains("limits")) {
      json& requests = objectAt(c["resources"], "requests");
      for (const auto& [k, v] : c["resources"]["limits"].items()) {
        if (!requests.contains(k)) requests[k] = v;
      }
    }
  }
}

std::optional<std::string> restartPolicyProblem(const json& pod_spec, const std::string& where, bool job) {
  const std::string policy = pod_spec.value("restartPolicy", "");
  if (job) {
    if (policy.empty()) return where + ".restartPolicy: Required value: valid values: \"OnFailure\", \"Never\"";
    if (policy != "Never" && policy != "OnFailure") {
      return where + ".restartPolicy: Unsupported value: \"" + policy + "\": supported values: \"OnFailure\", \"Never\"";
    }
  } else if (!policy.empty() && policy != "Always") {
    return where + ".restartPolicy: Unsupported value: \"" + policy + "\": supported values: \"Always\"";
  }
  if (!pod_spec.contains("containers") || !pod_spec["containers"].is_array() || pod_spec["containers"].empty()) {
    return where + ".containers: Required value";
  }
  return std::nullopt;
}

// Job defaulting and the registry's own additions (selector and labels from the uid).
std::optional<std::string> jobDefaults(json& job) {
  json& spec = objectAt(job, "spec");
  json& tmpl = objectAt(spec, "template");
  json& pod_spec = objectAt(tmpl, "spec");
  if (auto problem = restartPolicyProblem(pod_spec, "spec.template.spec", true)) return problem;
  if (!spec.contains("backoffLimit")) spec["backoffLimit"] = 6;
  if (!spec.contains("completions")) spec["completions"] = 1;
  if (!spec.contains("parallelism")) spec["parallelism"] = 1;
  if (!spec.contains("completionMode")) spec["completionMode"] = "NonIndexed";
  if (!spec.contains("suspend")) spec["suspend"] = false;
  if (!pod_spec.contains("terminationGracePeriodSeconds")) pod_spec["terminationGracePeriodSeconds"] = 30;
  json& meta = objectAt(tmpl, "metadata");
  json& labels = objectAt(meta, "labels");
  json& job_meta = objectAt(job, "metadata");
  if (!job_meta.contains("labels") || !job_meta["labels"].is_object() || job_meta["labels"].empty()) {
    if (!labels.empty()) job_meta["labels"] = labels;
  }
  if (!spec.value("manualSelector", false)) {
    const std::string uid = job_meta.value("uid", "");
    const std::string name = job_meta.value("name", "");
    labels["controller-uid"] = uid;
    labels["batch.kubernetes.io/controller-uid"] = uid;
    labels["job-name"] = name;
    labels["batch.kubernetes.io/job-name"] = name;
    spec["selector"] = {{"matchLabels", {{"batch.kubernetes.io/controller-uid", uid}}}};
  }
  return std::nullopt;
}

std::optional<std::string> cronJobDefaults(json& cronjob) {
  const std::string name = cronjob.value("/metadata/name"_json_pointer, std::string());
  if (name.size() > 52) {
    return "metadata.name: Invalid value: \"" + name + "\": must be no more than 52 characters";
  }
  json& spec = objectAt(cronjob, "spec");
  const std::string zone = spec.value("timeZone", "");
  if (!zone.empty() && !cron::validateTimeZone(zone)) {
    return "spec.timeZone: Invalid value: \"" + zone + "\": unknown time zone " + zone;
  }
  const std::string schedule = spec.value("schedule", "");
  if (schedule.empty()) return std::string("spec.schedule: Required value");
  if (auto parsed = parseCronSchedule(schedule, zone); !parsed) {
    return "spec.schedule: Invalid value: \"" + schedule + "\": " + parsed.error().message;
  }
  json& job_spec = objectAt(objectAt(spec, "jobTemplate"), "spec");
  json& pod_spec = objectAt(objectAt(job_spec, "template"), "spec");
  if (auto problem = restartPolicyProblem(pod_spec, "spec.jobTemplate.spec.template.spec", true)) return problem;
  if (!spec.contains("concurrencyPolicy")) spec["concurrencyPolicy"] = "Allow";
  if (!spec.contains("suspend")) spec["suspend"] = false;
  if (!spec.contains("successfulJobsHistoryLimit")) spec["successfulJobsHistoryLimit"] = 3;
  if (!spec.contains("failedJobsHistoryLimit")) spec["failedJobsHistoryLimit"] = 1;
  return std::nullopt;
}

std::optional<std::string> deploymentDefaults(json& deployment) {
  json& spec = objectAt(deployment, "spec");
  const json match = spec.value("/selector/matchLabels"_json_pointer, json());
  if (!match.is_object() || match.empty()) return std::string("spec.selector: Required value");
  json& tmpl = objectAt(spec, "template");
  const json labels = tmpl.value("/metadata/labels"_json_pointer, json::object());
  for (const auto& [k, v] : match.items()) {
    if (!labels.contains(k) || labels[k] != v) {
      return "spec.template.metadata.labels: Invalid value: " + labels.dump() +
             ": `selector` does not match template `labels`";
    }
  }
  json& pod_spec = objectAt(tmpl, "spec");
  if (auto problem = restartPolicyProblem(pod_spec, "spec.template.spec", false)) return problem;
  if (!pod_spec.contains("restartPolicy")) pod_spec["restartPolicy"] = "Always";
  if (!pod_spec.contains("terminationGracePeriodSeconds")) pod_spec["terminationGracePeriodSeconds"] = 30;
  if (!spec.contains("replicas")) spec["replicas"] = 1;
  if (!spec.contains("strategy")) spec["strategy"] = json::object();
  if (!spec["strategy"].contains("type")) spec["strategy"]["type"] = "RollingUpdate";
  if (spec["strategy"]["type"] == "RollingUpdate" && !spec["strategy"].contains("rollingUpdate")) {
    spec["strategy"]["rollingUpdate"] = {{"maxUnavailable", "25%"}, {"maxSurge", "25%"}};
  }
  if (!spec.contains("revisionHistoryLimit")) spec["revisionHistoryLimit"] = 10;
  if (!spec.contains("progressDeadlineSeconds")) spec["progressDeadlineSeconds"] = 600;
  return std::nullopt;
}

std::vector<json> sortedByName(std::vector<json> objects) {
  std::sort(objects.begin(), objects.end(), [](const json& a, const json& b) { return nameOf(a) < nameOf(b); });
  return objects;
}

std::vector<json> quotasIn(FakeApiServer& server, const std::string& ns) {
  return sortedByName(server.objects("/api/v1/namespaces/" + ns + "/resourcequotas/"));
}

// The ResourceQuota plugin for object counts: `requested: count/jobs.batch=1, ...`.
std::optional<Refusal> countQuota(FakeApiServer& server, const std::string& ns,
                                  const std::vector<std::string>& keys, const std::string& qualified,
                                  const std::string& name, const std::string& prefix) {
  const auto quotas = quotasIn(server, ns);
  if (quotas.empty()) return std::nullopt;
  const long long used = static_cast<long long>(server.objects(prefix).size());
  for (const auto& q : quotas) {
    const json hard = q.value("/spec/hard"_json_pointer, json::object());
    for (const auto& key : keys) {
      if (!hard.contains(key)) continue;
      const auto limit = quantityValue(hard[key]);
      if (!limit || static_cast<long double>(used + 1) <= *limit) continue;
      return Refusal{403, "Forbidden",
                     qualified + " \"" + name + "\" is forbidden: exceeded quota: " + nameOf(q) +
                         ", requested: " + key + "=1, used: " + key + "=" + std::to_string(used) +
                         ", limited: " + key + "=" + formatQuantity(key, *limit)};
    }
  }
  return std::nullopt;
}

// What the pods of a namespace use (those not finished), and its object counts.
Usage namespaceUsage(FakeApiServer& server, const std::string& ns, const std::string& except_pod = "") {
  Usage used;
  for (const auto& pod : server.objects("/api/v1/namespaces/" + ns + "/pods/")) {
    if (terminal(pod) || nameOf(pod) == except_pod) continue;
    for (const auto& [k, v] : podUsage(pod)) used[k] += v;
  }
  used["count/jobs.batch"] = server.objects("/apis/batch/v1/namespaces/" + ns + "/jobs/").size();
  used["count/cronjobs.batch"] = server.objects("/apis/batch/v1/namespaces/" + ns + "/cronjobs/").size();
  used["count/deployments.apps"] = server.objects("/apis/apps/v1/namespaces/" + ns + "/deployments/").size();
  used["services"] = used["count/services"] = server.objects("/api/v1/namespaces/" + ns + "/services/").size();
  return used;
}

// The ResourceQuota plugin for a pod: compute resources must be specified when a quota tracks
// them, and the pod must fit.
std::optional<Refusal> podQuota(FakeApiServer& server, const std::string& ns, const json& pod) {
  const auto quotas = quotasIn(server, ns);
  if (quotas.empty()) return std::nullopt;
  const std::string name = nameOf(pod);
  const Usage requested = podUsage(pod);
  const Usage used = namespaceUsage(server, ns, name);
  const json containers = pod.value("/spec/containers"_json_pointer, json::array());
  for (const auto& q : quotas) {
    const json hard = q.value("/spec/hard"_json_pointer, json::object());
    std::vector<std::string> missing;
    for (const auto& [key, value] : hard.items()) {
      std::string kind = "requests", resource = key;
      if (key.rfind("limits.", 0) == 0) {
        kind = "limits";
        resource = key.substr(7);
      } else if (key.rfind("requests.", 0) == 0) {
        resource = key.substr(9);
      } else if (key != "cpu" && key != "memory") {
        continue;
      }
      const bool all = std::all_of(containers.begin(), containers.end(), [&](const json& c) {
        return c.contains("resources") && c["resources"].contains(kind) && c["resources"][kind].contains(resource);
      });
      if (!all) missing.push_back(key);
    }
    if (!missing.empty()) {
      std::sort(missing.begin(), missing.end());
      std::string list;
      for (const auto& m : missing) list += (list.empty() ? "" : ",") + m;
      return Refusal{403, "Forbidden", "pods \"" + name + "\" is forbidden: failed quota: " + nameOf(q) +
                                           ": must specify " + list};
    }
    std::vector<std::string> exceeded;
    Usage limited;
    for (const auto& [key, value] : hard.items()) {
      const auto limit = quantityValue(value);
      const auto want = requested.find(key);
      if (!limit || want == requested.end() || want->second == 0) continue;
      limited[key] = *limit;
      const auto have = used.find(key);
      const long double now_used = have == used.end() ? 0 : have->second;
      if (now_used + want->second > *limit * (1 + 1e-12L)) exceeded.push_back(key);
    }
    if (!exceeded.empty()) {
      std::sort(exceeded.begin(), exceeded.end());
      return Refusal{403, "Forbidden",
                     "pods \"" + name + "\" is forbidden: exceeded quota: " + nameOf(q) +
                         ", requested: " + joinQuantities(exceeded, requested) +
                         ", used: " + joinQuantities(exceeded, used) +
                         ", limited: " + joinQuantities(exceeded, limited)};
    }
  }
  return std::nullopt;
}

// The LimitRanger plugin (type Container): defaults into containers that set none, then min and
// max. Several violations are listed in brackets, as an aggregated error prints.
std::optional<Refusal> limitRanges(FakeApiServer& server, const std::string& ns, json& pod) {
  const auto ranges = sortedByName(server.objects("/api/v1/namespaces/" + ns + "/limitranges/"));
  if (ranges.empty()) return std::nullopt;
  json& containers = objectAt(pod, "spec")["containers"];
  if (!containers.is_array()) return std::nullopt;
  std::vector<std::string> errors;
  for (const auto& range : ranges) {
    for (const auto& item : range.value("/spec/limits"_json_pointer, json::array())) {
      if (item.value("type", "") != "Container") continue;
      const json max = item.value("max", json::object());
      const json min = item.value("min", json::object());
      // LimitRange defaulting: default limit := max; default request := min, else the default limit.
      json defaults = item.value("default", json::object());
      for (const auto& [k, v] : max.items()) {
        if (!defaults.contains(k)) defaults[k] = v;
      }
      json default_requests = item.value("defaultRequest", json::object());
      for (const auto& [k, v] : min.items()) {
        if (!default_requests.contains(k)) default_requests[k] = v;
      }
      for (const auto& [k, v] : defaults.items()) {
        if (!default_requests.contains(k)) default_requests[k] = v;
      }
      for (auto& c : containers) {
        json& resources = objectAt(c, "resources");
        json& limits = objectAt(resources, "limits");
        json& requests = objectAt(resources, "requests");
        for (const auto& [k, v] : defaults.items()) {
          if (!limits.contains(k)) limits[k] = v;
        }
        for (const auto& [k, v] : default_requests.items()) {
          if (!requests.contains(k)) requests[k] = v;
        }
        for (const auto& [k, v] : max.items()) {
          const auto m = quantityValue(v);
          if (!m) continue;
          const auto have = limits.contains(k) ? quantityValue(limits[k]) : std::nullopt;
          if (!have) {
            errors.push_back("maximum " + k + " usage per Container is " + formatQuantity(k, *m) + ".  No limit is specified");
          } else if (*have > *m) {
            errors.push_back("maximum " + k + " usage per Container is " + formatQuantity(k, *m) +
                             ", but limit is " + formatQuantity(k, *have));
          }
        }
        for (const auto& [k, v] : min.items()) {
          const auto m = quantityValue(v);
          if (!m) continue;
          const auto have = requests.contains(k) ? quantityValue(requests[k]) : std::nullopt;
          if (!have) {
            errors.push_back("minimum " + k + " usage per Container is " + formatQuantity(k, *m) + ".  No request is specified");
          } else if (*have < *m) {
            errors.push_back("minimum " + k + " usage per Container is " + formatQuantity(k, *m) +
                             ", but request is " + formatQuantity(k, *have));
          }
        }
        if (limits.empty()) resources.erase("limits");
        if (requests.empty()) resources.erase("requests");
      }
    }
  }
  if (errors.empty()) return std::nullopt;
  std::string message = errors.front();
  if (errors.size() > 1) {
    message = "[";
    for (std::size_t i = 0; i < errors.size(); ++i) message += (i ? ", " : "") + errors[i];
    message += "]";
  }
  return Refusal{403, "Forbidden", "pods \"" + nameOf(pod) + "\" is forbidden: " + message};
}

// The deletion of one object as the API server starts it: a pod gets its grace period; an owner
// deleted with Foreground or Orphan propagation gets a deletionTimestamp and the finalizer the
// garbage collector works off. Runs under the server's lock: pure.
std::optional<json> markForDeletion(const std::string& path, const json& object, const std::string& propagation,
                                    std::optional<long long> grace, TimePoint now) {
  const auto where = parsePath(path);
  if (!where) return std::nullopt;
  if (where->resource == "pods") {
    const long long g = grace.value_or(intAt(object, "/spec/terminationGracePeriodSeconds").value_or(30));
    if (g <= 0) return std::nullopt;  // forced: gone now; the kubelet kills what still runs
    if (deleting(object)) return object;
    json marked = object;
    marked["metadata"]["deletionTimestamp"] = rfc3339(now + std::chrono::seconds(g));
    marked["metadata"]["deletionGracePeriodSeconds"] = g;
    return marked;
  }
  static const std::set<std::string> kOwners = {"jobs", "cronjobs", "deployments", "replicasets"};
  if (!kOwners.count(where->resource)) return std::nullopt;
  if (deleting(object)) return object;
  std::string policy = propagation;
  // batch/v1 Jobs keep their pods by default (for compatibility); everything else cascades.
  if (policy.empty()) policy = where->resource == "jobs" ? "Orphan" : "Background";
  if (policy != "Foreground" && policy != "Orphan") return std::nullopt;
  json marked = object;
  marked["metadata"]["deletionTimestamp"] = rfc3339(now);
  marked["metadata"]["deletionGracePeriodSeconds"] = 0;
  json& finalizers = marked["metadata"]["finalizers"];
  if (!finalizers.is_array()) finalizers = json::array();
  finalizers.push_back(policy == "Foreground" ? "foregroundDeletion" : "orphan");
  return marked;
}

std::optional<Probe> probeOf(const json& container, const char* key) {
  if (!container.contains(key) || !container[key].is_object()) return std::nullopt;
  const json& p = container[key];
  Probe probe;
  probe.initial_delay = p.value("initialDelaySeconds", 0);
  probe.period = p.value("periodSeconds", 10);
  probe.timeout = p.value("timeoutSeconds", 1);
  probe.success_threshold = p.value("successThreshold", 1);
  probe.failure_threshold = p.value("failureThreshold", 3);
  auto portOf = [&](const json& v) -> int {
    if (v.is_number_integer()) return v.get<int>();
    if (!v.is_string()) return 0;
    for (const auto& cp : container.value("ports", json::array())) {
      if (cp.value("name", "") == v.get<std::string>()) return cp.value("containerPort", 0);
    }
    const std::string text = v.get<std::string>();
    return text.find_first_not_of("0123456789") == std::string::npos && !text.empty() ? std::stoi(text) : 0;
  };
  if (p.contains("exec")) {
    probe.kind = Probe::Kind::kExec;
    for (const auto& word : p.value("/exec/command"_json_pointer, json::array())) {
      if (word.is_string()) probe.command.push_back(word.get<std::string>());
    }
  } else if (p.contains("httpGet")) {
    probe.kind = Probe::Kind::kHttp;
    probe.path = p["httpGet"].value("path", "/");
    probe.port = portOf(p["httpGet"].value("port", json()));
    if (p["httpGet"].contains("host")) probe.host = p["httpGet"].value("host", probe.host);
  } else if (p.contains("tcpSocket")) {
    probe.kind = Probe::Kind::kTcp;
    probe.port = portOf(p["tcpSocket"].value("port", json()));
    if (p["tcpSocket"].contains("host")) probe.host = p["tcpSocket"].value("host", probe.host);
  } else {
    return std::nullopt;  // grpc probes are not played
  }
  return probe;
}

json jobPod(const json& job) {
  const std::string name = nameOf(job);
  const std::string uid = uidOf(job);
  const json tmpl = job.value("/spec/template"_json_pointer, json::object());
  json labels = tmpl.value("/metadata/labels"_json_pointer, json::object());
  labels["controller-uid"] = uid;
  labels["batch.kubernetes.io/controller-uid"] = uid;
  labels["job-name"] = name;
  labels["batch.kubernetes.io/job-name"] = name;
  const std::string base = name.substr(0, 58) + "-";  // generateName: base cut to leave room for 5
  json metadata = {{"name", base + randomString(5)}, {"generateName", base}, {"namespace", nsOf(job)},
                   {"labels", labels}, {"ownerReferences", json::array({ownerRef(job)})}};
  if (tmpl.contains("/metadata/annotations"_json_pointer)) metadata["annotations"] = tmpl["metadata"]["annotations"];
  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", metadata},
          {"spec", tmpl.value("spec", json::object())}, {"status", {{"phase", "Pending"}}}};
}

json replicaSetOf(const json& deployment, const std::string& hash) {
  return {{"apiVersion", "apps/v1"}, {"kind", "ReplicaSet"},
          {"metadata", {{"name", nameOf(deployment) + "-" + hash}, {"namespace", nsOf(deployment)},
                        {"uid", uidOf(deployment) + "-" + hash}}}};
}

json deploymentPod(const json& deployment, const std::string& hash) {
  const json tmpl = deployment.value("/spec/template"_json_pointer, json::object());
  const json rs = replicaSetOf(deployment, hash);
  json labels = tmpl.value("/metadata/labels"_json_pointer, json::object());
  labels["pod-template-hash"] = hash;
  const std::string base = nameOf(rs).substr(0, 58) + "-";
  json metadata = {{"name", base + randomString(5)}, {"generateName", base}, {"namespace", nsOf(deployment)},
                   {"labels", labels}, {"ownerReferences", json::array({ownerRef(rs)})}};
  if (tmpl.contains("/metadata/annotations"_json_pointer)) metadata["annotations"] = tmpl["metadata"]["annotations"];
  return {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", metadata},
          {"spec", tmpl.value("spec", json::object())}, {"status", {{"phase", "Pending"}}}};
}

void setCount(json& status, const char* key, long long n) {
  if (n > 0) status[key] = n;
  else status.erase(key);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Construction, the controller thread, the public methods.

FakeCluster::FakeCluster(FakeClusterOptions options) : options_(std::move(options)), server_(options_.port) {
  if (!options_.state_log.empty()) state_log_.open(options_.state_log, std::ios::app);
  if (!options_.token.empty()) server_.setRequiredToken(options_.token);
  server_.addChangeHook([this](const std::string& type, const std::string& path, const json& object) {
    if (state_log_.is_open()) {
      std::string line = "api " + type + " " + path + " rv=" + str(object, "/metadata/resourceVersion");
      if (const std::string phase = phaseOf(object); !phase.empty()) line += " phase=" + phase;
      log(line);
    }
    markDirty();
  });
  server_.setDeletionHook([this](const std::string& path, const json& object, const std::string& propagation,
                                 std::optional<long long> grace) {
    return markForDeletion(path, object, propagation, grace, now());
  });
  server_.setMutatingAdmission([this](const RecordedRequest& request, json& object, const json& existing) {
    return admit(request.path, object, existing);
  });
  server_.setExtraRoute([this](const RecordedRequest& r) -> std::optional<std::pair<int, json>> {
    if (r.path.rfind("/fake/", 0) != 0) return std::nullopt;
    std::vector<std::string> parts;
    std::stringstream s(r.path);
    for (std::string part; std::getline(s, part, '/');) {
      if (!part.empty()) parts.push_back(part);
    }
    // POST /fake/v1/namespaces/<ns>/cronjobs/<name>/fire
    if (r.method == "POST" && parts.size() == 7 && parts[1] == "v1" && parts[2] == "namespaces" &&
        parts[4] == "cronjobs" && parts[6] == "fire") {
      auto fired = fireCronJob(parts[3], parts[5]);
      if (fired) return std::pair{201, *fired};
      int code = 503;
      std::string reason = "ServiceUnavailable";
      switch (fired.error().code) {
        case ErrorCode::kNotFound: code = 404, reason = "NotFound"; break;
        case ErrorCode::kFailedPrecondition: code = 409, reason = "Conflict"; break;
        case ErrorCode::kForbidden: code = 403, reason = "Forbidden"; break;
        case ErrorCode::kUnprocessable: code = 422, reason = "Invalid"; break;
        default: break;
      }
      return std::pair{code, statusBody(code, reason, fired.error().message)};
    }
    // POST /fake/v1/clock/advance?seconds=N
    if (r.method == "POST" && r.path == "/fake/v1/clock/advance") {
      const std::string text = r.query.count("seconds") ? r.query.at("seconds") : "";
      if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
        return std::pair{400, statusBody(400, "BadRequest", "seconds: a whole number of seconds is required")};
      }
      advanceClock(std::chrono::seconds(std::stoll(text)));
      return std::pair{200, json{{"now", rfc3339(now())}}};
    }
    // GET /fake/v1/processes
    if (r.method == "GET" && r.path == "/fake/v1/processes") {
      return std::pair{200, json{{"pids", processIds()}}};
    }
    return std::pair{404, statusBody(404, "NotFound", "no such fake-only endpoint: " + r.method + " " + r.path)};
  });
  next_bookmark_ = std::chrono::steady_clock::now() + options_.bookmark_period;
  controller_ = std::thread([this] { run(); });
}

FakeCluster::~FakeCluster() { shutdown(); }

TimePoint FakeCluster::now() const {
  return std::chrono::system_clock::now() + Millis(clock_offset_ms_.load());
}

void FakeCluster::advanceClock(std::chrono::seconds by) {
  clock_offset_ms_ += std::chrono::duration_cast<Millis>(by).count();
  log("fake clock advanced by " + std::to_string(by.count()) + " s");
  markDirty();
}

std::vector<pid_t> FakeCluster::processIds() const {
  std::lock_guard lock(pids_mutex_);
  return {pids_.begin(), pids_.end()};
}

void FakeCluster::post(std::function<void()> task) {
  {
    std::lock_guard lock(queue_mutex_);
    if (stopping_) return;
    tasks_.push_back(std::move(task));
  }
  queue_changed_.notify_all();
}

void FakeCluster::markDirty() {
  {
    std::lock_guard lock(queue_mutex_);
    dirty_ = true;
  }
  queue_changed_.notify_all();
}

void FakeCluster::wakeAt(TimePoint when) {
  if (!next_wake_ || when < *next_wake_) next_wake_ = when;
}

void FakeCluster::log(const std::string& line) {
  if (!state_log_.is_open()) return;
  std::lock_guard lock(log_mutex_);
  state_log_ << rfc3339Nano(now()) << ' ' << line << '\n';
  state_log_.flush();
}

void FakeCluster::shutdown(std::chrono::milliseconds grace) {
  if (shut_down_.exchange(true)) return;
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_changed_.notify_all();
  if (controller_.joinable()) controller_.join();
  // The controller thread is gone: pods_ is this thread's now.
  for (auto& [path, state] : pods_) {
    if (state->container) state->container->signal(SIGTERM);
  }
  {
    std::unique_lock lock(pids_mutex_);
    pids_changed_.wait_for(lock, grace, [&] { return pids_.empty(); });
  }
  pods_.clear();  // SIGKILLs what is left, and reaps
  log("shut down: every container stopped");
}

Result<json> FakeCluster::fireCronJob(const std::string& ns, const std::string& name) {
  if (shut_down_) return makeError(ErrorCode::kUnavailable, "the fake cluster is shut down");
  auto promise = std::make_shared<std::promise<Result<json>>>();
  auto future = promise->get_future();
  post([this, ns, name, promise] {
    try {
      const auto cronjob = server_.object(resourcePath("batch/v1", "cronjobs", ns, name));
      if (!cronjob) {
        promise->set_value(makeError(ErrorCode::kNotFound, "cronjobs.batch \"" + name + "\" not found"));
        return;
      }
      TimePoint scheduled = std::chrono::time_point_cast<TimePoint::duration>(
          std::chrono::floor<std::chrono::minutes>(now()));
      if (const auto last = timeAt(*cronjob, "/status/lastScheduleTime"); last && *last >= scheduled) {
        scheduled = *last + 1min;
      }
      log("fake trigger: firing CronJob " + ns + "/" + name + " for " + rfc3339(scheduled));
      promise->set_value(fire(*cronjob, scheduled, server_.objects("/apis/batch/v1/namespaces/" + ns + "/jobs/")));
    } catch (const std::exception& e) {
      promise->set_value(makeError(ErrorCode::kInternal, std::string("firing the CronJob failed: ") + e.what()));
    }
  });
  if (future.wait_for(10s) != std::future_status::ready) {
    return makeError(ErrorCode::kUnavailable, "the fake cluster's controller did not answer");
  }
  try {
    return future.get();
  } catch (const std::future_error&) {
    return makeError(ErrorCode::kUnavailable, "the fake cluster is shut down");
  }
}

void FakeCluster::run() {
  while (true) {
    std::deque<std::function<void()>> tasks;
    {
      std::unique_lock lock(queue_mutex_);
      Millis wait = 1000ms;  // a full pass at least this often, whatever happens
      if (next_wake_) {
        wait = std::clamp(std::chrono::duration_cast<Millis>(*next_wake_ - now()) + 1ms, 0ms, wait);
      }
      if (options_.bookmark_period > 0ms) {
        wait = std::clamp(std::chrono::duration_cast<Millis>(next_bookmark_ - std::chrono::steady_clock::now()),
                          0ms, wait);
      }
      queue_changed_.wait_for(lock, wait, [&] { return stopping_ || dirty_ || !tasks_.empty(); });
      if (stopping_) return;
      tasks.swap(tasks_);
      dirty_ = false;
    }
    for (auto& task : tasks) task();
    reconcile();
    if (options_.bookmark_period > 0ms && std::chrono::steady_clock::now() >= next_bookmark_) {
      server_.bookmark();
      next_bookmark_ = std::chrono::steady_clock::now() + options_.bookmark_period;
    }
  }
}

void FakeCluster::reconcile() {
  next_wake_.reset();
  auto list = [&](const std::string& prefix, std::string_view kind) {
    std::vector<json> out;
    for (auto& o : server_.objects(prefix)) {
      if (o.value("kind", "") == kind) out.push_back(std::move(o));
    }
    return out;
  };
  // A malformed object (a client's) must not stop the controllers: it is logged and skipped.
  auto guarded = [&](const std::string& what, const std::function<void()>& step) {
    try {
      step();
    } catch (const std::exception& e) {
      log("error in " + what + ": " + e.what());
    }
  };
  const std::string core = "/api/v1/namespaces/";
  const std::string batch = "/apis/batch/v1/namespaces/";
  const std::string apps = "/apis/apps/v1/namespaces/";
  guarded("kubelet", [&] { syncPods(list(core, "Pod")); });
  {
    const auto pods = list(core, "Pod");
    const auto jobs = list(batch, "Job");
    for (const auto& job : jobs) guarded("Job " + nameOf(job), [&] { syncJob(job, pods); });
    // What the controllers remember about Jobs that are gone.
    std::set<std::string> uids;
    for (const auto& job : jobs) uids.insert(uidOf(job));
    std::erase_if(job_outcomes_, [&](const auto& entry) { return !uids.count(entry.first); });
    std::erase_if(finished_at_, [&](const auto& entry) { return !uids.count(entry.first); });
    std::erase_if(job_failures_, [&](const auto& entry) { return !uids.count(entry.first); });
  }
  {
    const auto jobs = list(batch, "Job");
    for (const auto& cj : list(batch, "CronJob")) guarded("CronJob " + nameOf(cj), [&] { syncCronJob(cj, jobs); });
  }
  {
    const auto pods = list(core, "Pod");
    for (const auto& d : list(apps, "Deployment")) guarded("Deployment " + nameOf(d), [&] { syncDeployment(d, pods); });
  }
  guarded("garbage collector", [&] {
    collectGarbage(list(core, "Pod"), list(batch, "Job"), list(batch, "CronJob"), list(apps, "Deployment"));
  });
  guarded("quota controller", [&] { syncQuotas(list(core, "ResourceQuota")); });
}

// ---------------------------------------------------------------------------------------------
// The kubelet.

void FakeCluster::syncPods(const std::vector<json>& pods) {
  std::set<std::string> seen;
  for (const auto& pod : pods) {
    seen.insert(podPath(nsOf(pod), nameOf(pod)));
    try {
      syncPod(pod);
    } catch (const std::exception& e) {
      log("error in kubelet for pod " + nameOf(pod) + ": " + e.what());
    }
  }
  for (auto it = pods_.begin(); it != pods_.end();) {
    if (seen.count(it->first)) {
      ++it;
      continue;
    }
    // The pod object is gone (a forced deletion): its container goes too.
    if (it->second->container) log("kubelet: pod " + it->first + " is gone: killing its container");
    it = pods_.erase(it);
  }
}

void FakeCluster::syncPod(const json& pod) {
  const std::string ns = nsOf(pod);
  const std::string name = nameOf(pod);
  const std::string path = podPath(ns, name);
  auto& slot = pods_[path];
  if (slot && slot->uid != uidOf(pod)) slot.reset();  // a new pod under an old name
  if (!slot) {
    slot = std::make_unique<PodState>();
    slot->uid = uidOf(pod);
    slot->ns = ns;
    slot->name = name;
    slot->backoff = options_.restart_backoff;
  }
  PodState& st = *slot;
  const long long grace = intAt(pod, "/spec/terminationGracePeriodSeconds").value_or(30);
  if (deleting(pod)) {
    if (st.container) {
      terminateContainer(st, intAt(pod, "/metadata/deletionGracePeriodSeconds").value_or(grace));
      return;
    }
    log("kubelet: pod " + ns + "/" + name + " has stopped: removing it");
    server_.closeLog(ns, name);
    server_.erase(path);
    pods_.erase(path);
    return;
  }
  if (st.terminating && st.container) {  // a failed probe's kill in progress
    terminateContainer(st, grace);
    return;
  }
  switch (st.phase) {
    case PodState::Phase::kNew:
      st.phase = PodState::Phase::kWaiting;
      st.pod_started = now();
      st.waiting_reason = "ContainerCreating";
      // The scheduler's binding, then the kubelet's first status.
      server_.update(path, [](json& o) {
        o["spec"]["nodeName"] = std::string(kNodeName);
        return true;
      });
      writePodStatus(path, st);
      startContainer(path, pod, st);
      writePodStatus(path, st);
      break;
    case PodState::Phase::kBackoff:
      if (now() >= st.next_start) {
        ++st.restart_count;
        startContainer(path, pod, st);
        writePodStatus(path, st);
      } else {
        wakeAt(st.next_start);
      }
      break;
    default:
      break;
  }
}

void FakeCluster::startContainer(const std::string& path, const json& pod, PodState& st) {
  const json containers = pod.value("/spec/containers"_json_pointer, json::array());
  if (containers.empty() || !containers[0].is_object()) {
    st.phase = PodState::Phase::kWaiting;
    st.waiting_reason = "CreateContainerConfigError";
    st.waiting_message = "the pod has no containers";
    return;
  }
  const json& c = containers[0];
  LaunchSpec spec;
  spec.ns = st.ns;
  spec.pod = st.name;
  for (const char* key : {"command", "args"}) {
    for (const auto& word : c.value(key, json::array())) {
      if (word.is_string()) spec.argv.push_back(word.get<std::string>());
    }
  }
  if (spec.argv.empty()) {
    st.phase = PodState::Phase::kWaiting;
    st.waiting_reason = "CreateContainerError";
    st.waiting_message = "the fake kubelet runs a container's command and args, and container '" +
                         c.value("name", "") + "' has none (images are not run)";
    log("kubelet: pod " + st.ns + "/" + st.name + ": " + st.waiting_message);
    return;
  }
  std::set<std::string> names;
  for (const auto& e : c.value("env", json::array())) {
    const std::string key = e.value("name", "");
    if (key.empty()) continue;
    std::optional<std::string> value;
    if (e.contains("value") && e["value"].is_string()) {
      value = e["value"].get<std::string>();
    } else if (e.contains("valueFrom")) {
      const std::string field = str(e, "/valueFrom/fieldRef/fieldPath");
      if (field == "metadata.name") value = st.name;
      else if (field == "metadata.namespace") value = st.ns;
      else if (field == "metadata.uid") value = st.uid;
      else if (field == "spec.nodeName") value = std::string(kNodeName);
      else if (field == "status.podIP" || field == "status.hostIP") value = "127.0.0.1";
    } else {
      value = "";
    }
    if (!value) continue;  // secrets, config maps, resources: not played
    spec.env.push_back(key + "=" + *value);
    names.insert(key);
  }
  if (!names.count("PATH")) spec.env.push_back("PATH=" + std::string(kDefaultPath));
  if (!names.count("HOSTNAME")) spec.env.push_back("HOSTNAME=" + st.name);
  std::error_code ec;
  const std::string dir = c.value("workingDir", "");
  if (!dir.empty() && std::filesystem::is_directory(dir, ec)) {
    spec.cwd = dir;
  } else {
    if (st.temp_dir.empty()) {
      char tmpl[] = "/tmp/tjf-fake-pod-XXXXXX";
      if (::mkdtemp(tmpl)) st.temp_dir = tmpl;
    }
    spec.cwd = st.temp_dir.string();
  }
  spec.startup = probeOf(c, "startupProbe");
  spec.liveness = probeOf(c, "livenessProbe");
  spec.readiness = probeOf(c, "readinessProbe");
  const bool has_startup = spec.startup.has_value();
  const bool has_readiness = spec.readiness.has_value();
  const long long instance = ++instances_;
  st.instance = instance;
  if (st.restart_count > 0) server_.restartLog(st.ns, st.name);
  std::string command;
  for (const auto& a : spec.argv) command += (command.empty() ? "" : " ") + a;
  st.container_started = now();
  auto started = Container::start(*this, std::move(spec), [this, path, instance](const ContainerReport& r) {
    post([this, path, instance, r] { onContainerReport(path, instance, r); });
  });
  if (!started) {
    // As containerd reports a process that cannot be started: terminated, exit code 128.
    log("kubelet: pod " + st.ns + "/" + st.name + ": cannot start '" + command + "': " + started.error().message);
    st.pid = 0;
    onContainerReport(path, instance,
                      ContainerReport{.kind = ContainerReport::Kind::kExited, .exit_code = 128, .start_error = true,
                                      .at = now(),
                                      .message = "failed to start the container process: " + started.error().message});
    return;
  }
  st.container = std::move(*started);
  st.pid = st.container->pid();
  st.phase = PodState::Phase::kRunning;
  st.started = !has_startup;
  st.ready = !has_startup && !has_readiness;
  st.terminating = false;
  st.killed = false;
  st.waiting_reason.clear();
  st.waiting_message.clear();
  log("kubelet: pod " + st.ns + "/" + st.name + ": started pid " + std::to_string(st.pid) + ": " + command);
}

void FakeCluster::terminateContainer(PodState& st, long long grace_seconds) {
  if (!st.container) return;
  const TimePoint t = now();
  if (!st.terminating) {
    st.terminating = true;
    st.killed = false;
    st.kill_at = t + std::chrono::seconds(std::max(0LL, grace_seconds));
    st.container->signal(SIGTERM);
    log("kubelet: pod " + st.ns + "/" + st.name + ": SIGTERM to pid " + std::to_string(st.pid) +
        ", SIGKILL in " + std::to_string(grace_seconds) + " s");
  }
  if (!st.killed && t >= st.kill_at) {
    st.container->signal(SIGKILL);
    st.killed = true;
    log("kubelet: pod " + st.ns + "/" + st.name + ": grace period over: SIGKILL to pid " + std::to_string(st.pid));
  }
  if (!st.killed) wakeAt(st.kill_at);
}

void FakeCluster::onContainerReport(const std::string& path, long long instance, const ContainerReport& r) {
  auto it = pods_.find(path);
  if (it == pods_.end() || it->second->instance != instance) return;  // stale: an older container
  PodState& st = *it->second;
  const auto pod = server_.object(path);
  const std::string cname =
      pod ? pod->value("/spec/containers/0/name"_json_pointer, std::string("job")) : std::string("job");
  switch (r.kind) {
    case ContainerReport::Kind::kStarted:
      st.started = true;
      break;
    case ContainerReport::Kind::kReady:
      st.ready = true;
      break;
    case ContainerReport::Kind::kNotReady:
      st.ready = false;
      if (pod) recordEvent(*pod, "Warning", "Unhealthy", r.message, "kubelet");
      break;
    case ContainerReport::Kind::kProbeFailed:
      if (pod) recordEvent(*pod, "Warning", "Unhealthy", r.message, "kubelet");
      return;
    case ContainerReport::Kind::kUnhealthy:
      if (!pod) return;
      recordEvent(*pod, "Warning", "Unhealthy", r.message, "kubelet");
      recordEvent(*pod, "Normal", "Killing",
                  "Container " + cname + " failed " + (r.startup_probe ? "startup" : "liveness") +
                      " probe, will be restarted",
                  "kubelet");
      terminateContainer(st, intAt(*pod, "/spec/terminationGracePeriodSeconds").value_or(30));
      return;
    case ContainerReport::Kind::kExited: {
      if (st.container) {
        st.pid = st.container->pid();
        st.container.reset();  // joins the supervisor, which has finished
      }
      json terminated = {{"exitCode", r.exit_code},
                         {"reason", r.start_error ? "StartError" : r.exit_code == 0 ? "Completed" : "Error"},
                         {"startedAt", rfc3339(st.container_started)},
                         {"finishedAt", rfc3339(r.at)}};
      if (st.pid > 0) terminated["containerID"] = std::string(kContainerIdPrefix) + std::to_string(st.pid);
      if (r.signal) terminated["signal"] = r.signal;
      if (!r.message.empty()) terminated["message"] = r.message;
      st.ready = false;
      st.started = false;
      st.terminating = false;
      st.killed = false;
      log("kubelet: pod " + st.ns + "/" + st.name + ": container exited with code " + std::to_string(r.exit_code) +
          (r.signal ? " (signal " + std::to_string(r.signal) + ")" : ""));
      if (!pod) {
        pods_.erase(it);
        return;
      }
      const std::string policy = str(*pod, "/spec/restartPolicy").empty() ? "Always" : str(*pod, "/spec/restartPolicy");
      const bool restart = !deleting(*pod) && (policy == "Always" || (policy == "OnFailure" && r.exit_code != 0));
      if (restart) {
        if (r.at - st.container_started >= kBackoffResetAfter) st.backoff = options_.restart_backoff;
        st.last_terminated = terminated;
        st.phase = PodState::Phase::kBackoff;
        st.next_start = now() + st.backoff;
        const std::string who = st.name + "_" + st.ns + "(" + st.uid + ")";
        st.waiting_reason = "CrashLoopBackOff";
        st.waiting_message = "back-off " + goDuration(st.backoff) + " restarting failed container=" + cname + " pod=" + who;
        recordEvent(*pod, "Warning", "BackOff", "Back-off restarting failed container " + cname + " in pod " + who,
                    "kubelet");
        st.backoff = std::min(st.backoff * 2, options_.max_restart_backoff);
        wakeAt(st.next_start);
      } else {
        st.phase = PodState::Phase::kTerminated;
        st.terminated = terminated;
        st.final_phase = r.exit_code == 0 ? "Succeeded" : "Failed";
      }
      break;
    }
  }
  writePodStatus(path, st);
}

void FakeCluster::writePodStatus(const std::string& path, PodState& st) {
  const TimePoint t = now();
  server_.update(path, [&](json& pod) {
    const json old = pod.value("status", json::object());
    std::string phase = "Pending";
    if (st.phase == PodState::Phase::kRunning || st.phase == PodState::Phase::kBackoff) phase = "Running";
    if (st.phase == PodState::Phase::kTerminated) phase = st.final_phase;
    const json containers = pod.value("/spec/containers"_json_pointer, json::array());
    const json first = containers.empty() ? json::object() : containers[0];
    const std::string cname = first.value("name", "job");
    const bool running = st.phase == PodState::Phase::kRunning;
    json cs = {{"name", cname}, {"image", first.value("image", "")}, {"imageID", ""},
               {"ready", running && st.ready}, {"restartCount", st.restart_count},
               {"started", running && st.started}};
    if (st.pid > 0) cs["containerID"] = std::string(kContainerIdPrefix) + std::to_string(st.pid);
    json waiting = {{"reason", st.waiting_reason}};
    if (!st.waiting_message.empty()) waiting["message"] = st.waiting_message;
    switch (st.phase) {
      case PodState::Phase::kRunning: cs["state"] = {{"running", {{"startedAt", rfc3339(st.container_started)}}}}; break;
      case PodState::Phase::kTerminated: cs["state"] = {{"terminated", st.terminated}}; break;
      default: cs["state"] = {{"waiting", waiting}}; break;
    }
    cs["lastState"] = st.last_terminated.is_null() ? json::object() : json{{"terminated", st.last_terminated}};
    const bool ready = phase == "Running" && st.ready;
    json conditions = old.value("conditions", json::array());
    const json null_time = nullptr;
    putCondition(conditions, {{"type", "Initialized"}, {"status", "True"}, {"lastProbeTime", null_time}}, t);
    for (const char* type : {"Ready", "ContainersReady"}) {
      json c = {{"type", type}, {"status", ready ? "True" : "False"}, {"lastProbeTime", null_time}};
      if (!ready && st.phase == PodState::Phase::kTerminated) {
        c["reason"] = "PodCompleted";
      } else if (!ready) {
        c["reason"] = "ContainersNotReady";
        c["message"] = "containers with unready status: [" + cname + "]";
      }
      putCondition(conditions, c, t);
    }
    putCondition(conditions, {{"type", "PodScheduled"}, {"status", "True"}, {"lastProbeTime", null_time}}, t);
    const json ips = json::array({{{"ip", "127.0.0.1"}}});
    json status = {{"phase", phase}, {"conditions", conditions}, {"hostIP", "127.0.0.1"}, {"hostIPs", ips},
                   {"podIP", "127.0.0.1"}, {"podIPs", ips}, {"startTime", rfc3339(st.pod_started)},
                   {"containerStatuses", json::array({cs})}, {"qosClass", qosClass(pod)}};
    if (status == old) return false;
    pod["status"] = std::move(status);
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// Deletion and the garbage collector.

bool FakeCluster::finishDeletion(const std::string& path, const json& object, const std::vector<json>& dependents,
                                 const std::string& dependent_propagation) {
  if (!deleting(object)) return false;
  const std::string uid = uidOf(object);
  if (hasFinalizer(object, "orphan")) {
    for (const auto& d : dependents) {
      server_.update(pathOf(d), [&](json& o) {
        json kept = json::array();
        for (const auto& ref : o.value("/metadata/ownerReferences"_json_pointer, json::array())) {
          if (ref.value("uid", "") != uid) kept.push_back(ref);
        }
        if (kept.empty()) o["metadata"].erase("ownerReferences");
        else o["metadata"]["ownerReferences"] = kept;
        return true;
      });
    }
    log("garbage collector: orphaned " + std::to_string(dependents.size()) + " dependents of " + path);
    server_.erase(path);
    return true;
  }
  if (hasFinalizer(object, "foregroundDeletion")) {
    for (const auto& d : dependents) deleteObject(pathOf(d), d, dependent_propagation);
    if (dependents.empty()) {
      log("garbage collector: the dependents of " + path + " are gone: removing it");
      server_.erase(path);
    }
    return true;
  }
  // Someone else's finalizers: the API server waits for them to be removed.
  if (object.value("/metadata/finalizers"_json_pointer, json::array()).empty()) server_.erase(path);
  return true;
}

void FakeCluster::deletePod(const json& pod) {
  if (deleting(pod)) return;
  const long long grace = intAt(pod, "/spec/terminationGracePeriodSeconds").value_or(30);
  const std::string path = podPath(nsOf(pod), nameOf(pod));
  const TimePoint t = now();
  if (server_.update(path, [&](json& o) {
        if (deleting(o)) return false;
        o["metadata"]["deletionTimestamp"] = rfc3339(t + std::chrono::seconds(grace));
        o["metadata"]["deletionGracePeriodSeconds"] = grace;
        return true;
      })) {
    log("controller: deleting pod " + path + " (grace " + std::to_string(grace) + " s)");
  }
}

void FakeCluster::deleteObject(const std::string& path, const json& object, const std::string& propagation) {
  if (deleting(object)) return;
  if (object.value("kind", "") == "Pod") {
    deletePod(object);
    return;
  }
  log("controller: deleting " + path + " (" + propagation + ")");
  if (propagation != "Foreground" && propagation != "Orphan") {
    server_.erase(path);
    return;
  }
  const TimePoint t = now();
  server_.update(path, [&](json& o) {
    if (deleting(o)) return false;
    o["metadata"]["deletionTimestamp"] = rfc3339(t);
    o["metadata"]["deletionGracePeriodSeconds"] = 0;
    json& finalizers = o["metadata"]["finalizers"];
    if (!finalizers.is_array()) finalizers = json::array();
    finalizers.push_back(propagation == "Foreground" ? "foregroundDeletion" : "orphan");
    return true;
  });
}

void FakeCluster::collectGarbage(const std::vector<json>& pods, const std::vector<json>& jobs,
                                 const std::vector<json>& cronjobs, const std::vector<json>& deployments) {
  std::set<std::string> job_uids, cronjob_uids, deployment_uids;
  for (const auto& j : jobs) job_uids.insert(uidOf(j));
  for (const auto& c : cronjobs) cronjob_uids.insert(uidOf(c));
  for (const auto& d : deployments) deployment_uids.insert(uidOf(d));
  auto ownerAlive = [&](const json& ref) {
    const std::string kind = ref.value("kind", "");
    const std::string uid = ref.value("uid", "");
    if (kind == "Job") return job_uids.count(uid) > 0;
    if (kind == "CronJob") return cronjob_uids.count(uid) > 0;
    if (kind == "ReplicaSet") {  // collapsed: "<deployment uid>-<hash>"
      return std::any_of(deployment_uids.begin(), deployment_uids.end(),
                         [&](const std::string& d) { return uid.rfind(d + "-", 0) == 0; });
    }
    return true;  // owners this fake does not know are left alone
  };
  auto orphaned = [&](const json& object) {
    const auto refs = object.value("/metadata/ownerReferences"_json_pointer, json::array());
    return !refs.empty() && std::none_of(refs.begin(), refs.end(), ownerAlive);
  };
  for (const auto& pod : pods) {
    if (deleting(pod) || !orphaned(pod)) continue;
    log("garbage collector: the owner of pod " + nsOf(pod) + "/" + nameOf(pod) + " is gone");
    deletePod(pod);
  }
  for (const auto& job : jobs) {
    if (deleting(job) || !orphaned(job)) continue;
    log("garbage collector: the owner of Job " + nsOf(job) + "/" + nameOf(job) + " is gone");
    deleteObject(jobPath(nsOf(job), nameOf(job)), job, "Background");
  }
}

// ---------------------------------------------------------------------------------------------
// Admission, events, quota status.

std::optional<Refusal> FakeCluster::admit(const std::string& path, json& object, const json& existing) {
  const auto where = parsePath(path);
  if (!where || !object.is_object()) return std::nullopt;
  const bool create = existing.is_null();
  json& meta = objectAt(object, "metadata");
  meta["namespace"] = where->ns;
  const std::string name = meta.value("name", where->name);
  if (create) {
    if (!meta.contains("uid")) meta["uid"] = newUid();
    meta["creationTimestamp"] = rfc3339(now());
  } else if (existing.contains("/metadata/uid"_json_pointer)) {
    meta["uid"] = existing["metadata"]["uid"];
  }
  auto invalid = [&](const std::string& kind, const std::string& detail) {
    return Refusal{422, "Invalid", kind + " \"" + name + "\" is invalid: " + detail};
  };
  const std::string& resource = where->resource;
  const std::string ns = where->ns;
  if (resource == "pods") {
    podDefaults(object);
    if (!create) return std::nullopt;
    if (auto refusal = limitRanges(server_, ns, object)) return refusal;
    return podQuota(server_, ns, object);
  }
  if (resource == "jobs") {
    if (auto problem = jobDefaults(object)) return invalid("Job.batch", *problem);
    if (create) {
      return countQuota(server_, ns, {"count/jobs.batch"}, "jobs.batch", name, "/apis/batch/v1/namespaces/" + ns + "/jobs/");
    }
  } else if (resource == "cronjobs") {
    if (auto problem = cronJobDefaults(object)) return invalid("CronJob.batch", *problem);
    if (create) {
      return countQuota(server_, ns, {"count/cronjobs.batch"}, "cronjobs.batch", name,
                        "/apis/batch/v1/namespaces/" + ns + "/cronjobs/");
    }
  } else if (resource == "deployments") {
    if (auto problem = deploymentDefaults(object)) return invalid("Deployment.apps", *problem);
    if (create) {
      return countQuota(server_, ns, {"count/deployments.apps"}, "deployments.apps", name,
                        "/apis/apps/v1/namespaces/" + ns + "/deployments/");
    }
  } else if (resource == "services" && create) {
    return countQuota(server_, ns, {"services", "count/services"}, "services", name,
                      "/api/v1/namespaces/" + ns + "/services/");
  }
  return std::nullopt;
}

std::optional<Refusal> FakeCluster::createPod(const json& pod) {
  json object = pod;
  if (auto refusal = admit(resourcePath("v1", "pods", nsOf(pod)), object, json())) return refusal;
  const std::string path = podPath(nsOf(object), nameOf(object));
  server_.put(path, object);
  log("controller: created pod " + path);
  return std::nullopt;
}

void FakeCluster::recordEvent(const json& involved, const std::string& type, const std::string& reason,
                              const std::string& message, const std::string& component) {
  const std::string ns = nsOf(involved);
  if (ns.empty()) return;
  const std::string key = uidOf(involved) + "|" + reason + "|" + message;
  const TimePoint t = now();
  const std::string stamp = rfc3339(t);
  if (auto it = events_.find(key); it != events_.end()) {
    const int count = ++it->second.second;
    if (server_.update(it->second.first, [&](json& e) {
          e["count"] = count;
          e["lastTimestamp"] = stamp;
          return true;
        })) {
      return;
    }
    events_.erase(it);  // deleted meanwhile: a new one
  }
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "%llx",
                static_cast<unsigned long long>(
                    std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count()));
  const std::string name = nameOf(involved) + "." + suffix;
  json source = {{"component", component}};
  if (component == "kubelet") source["host"] = std::string(kNodeName);
  json event = {
      {"apiVersion", "v1"},
      {"kind", "Event"},
      {"metadata", {{"name", name}, {"namespace", ns}, {"uid", newUid()}, {"creationTimestamp", stamp}}},
      {"involvedObject",
       {{"apiVersion", involved.value("apiVersion", "")}, {"kind", involved.value("kind", "")},
        {"name", nameOf(involved)}, {"namespace", ns}, {"uid", uidOf(involved)},
        {"resourceVersion", str(involved, "/metadata/resourceVersion")}}},
      {"reason", reason},
      {"message", message},
      {"source", source},
      {"firstTimestamp", stamp},
      {"lastTimestamp", stamp},
      {"count", 1},
      {"type", type},
      {"eventTime", nullptr},
      {"reportingComponent", component},
      {"reportingInstance", ""}};
  const std::string path = resourcePath("v1", "events", ns, name);
  server_.put(path, event);
  events_[key] = {path, 1};
  log("event " + type + " " + reason + " " + involved.value("kind", "") + " " + ns + "/" + nameOf(involved) + ": " + message);
}

void FakeCluster::syncQuotas(const std::vector<json>& quotas) {
  for (const auto& q : quotas) {
    const std::string ns = nsOf(q);
    const json hard = q.value("/spec/hard"_json_pointer, json::object());
    const Usage used = namespaceUsage(server_, ns);
    json used_json = json::object();
    for (const auto& [key, value] : hard.items()) {
      const auto it = used.find(key);
      used_json[key] = formatQuantity(key, it == used.end() ? 0 : it->second);
    }
    const json status = {{"hard", hard}, {"used", used_json}};
    if (q.value("status", json()) == status) continue;
    server_.update(resourcePath("v1", "resourcequotas", ns, nameOf(q)), [&](json& o) {
      o["status"] = status;
      return true;
    });
  }
}

// ---------------------------------------------------------------------------------------------
// The Job controller.

void FakeCluster::syncJob(const json& job, const std::vector<json>& pods) {
  const std::string ns = nsOf(job);
  const std::string name = nameOf(job);
  const std::string uid = uidOf(job);
  const std::string path = jobPath(ns, name);
  std::vector<json> owned;
  for (const auto& p : pods) {
    if (nsOf(p) == ns && ownedBy(p, uid)) owned.push_back(p);
  }
  if (finishDeletion(path, job, owned, "Background")) return;
  const TimePoint t = now();
  if (jobDone(job)) {
    for (const auto& p : owned) {
      if (!terminal(p)) deletePod(p);
    }
    if (const auto ttl = intAt(job, "/spec/ttlSecondsAfterFinished")) {
      TimePoint finished = t;
      if (const auto it = finished_at_.find(uid); it != finished_at_.end()) {
        finished = it->second;
      } else if (const auto at = timeAt(job, "/status/completionTime")) {
        finished = *at;
      } else if (const json* failed = conditionOf(job, "Failed")) {
        finished = parseKubernetesTime(failed->value("lastTransitionTime", "")).value_or(t);
      }
      const TimePoint due = finished + std::chrono::seconds(*ttl);
      if (t >= due) {
        log("ttl-after-finished controller: deleting Job " + ns + "/" + name);
        deleteObject(path, job, "Foreground");
      } else {
        wakeAt(due);
      }
    }
    return;
  }

  // Outcomes are remembered: a pod that goes away before it finished counts as failed.
  auto& outcomes = job_outcomes_[uid];
  std::set<std::string> present;
  for (const auto& p : owned) {
    const std::string pod = nameOf(p);
    present.insert(pod);
    if (terminal(p)) outcomes[pod] = phaseOf(p);
    else if (!outcomes.count(pod)) outcomes[pod] = "Active";
  }
  long long succeeded = 0, failed = 0;
  for (auto& [pod, outcome] : outcomes) {
    if (outcome == "Active" && !present.count(pod)) outcome = "Failed";
    succeeded += outcome == "Succeeded";
    failed += outcome == "Failed";
  }
  std::vector<json> active, terminating;
  for (const auto& p : owned) {
    if (!terminal(p)) (deleting(p) ? terminating : active).push_back(p);
  }

  json status = job.value("status", json::object());
  const json old_status = status;
  if (!status.contains("startTime")) status["startTime"] = rfc3339(t);
  const TimePoint start = parseKubernetesTime(status["startTime"].get<std::string>()).value_or(t);
  const long long backoff_limit = intAt(job, "/spec/backoffLimit").value_or(6);
  const long long completions = intAt(job, "/spec/completions").value_or(1);
  const long long parallelism = intAt(job, "/spec/parallelism").value_or(1);
  const auto deadline = intAt(job, "/spec/activeDeadlineSeconds");
  json conditions = status.value("conditions", json::array());
  std::string reason, message;
  if (conditionTrue(job, "FailureTarget")) {
    reason = conditionOf(job, "FailureTarget")->value("reason", "");
    message = conditionOf(job, "FailureTarget")->value("message", "");
  } else if (deadline && t >= start + std::chrono::seconds(*deadline)) {
    reason = "DeadlineExceeded";
    message = "Job was active longer than specified deadline";
  } else if (failed > backoff_limit) {
    reason = "BackoffLimitExceeded";
    message = "Job has reached the specified backoff limit";
  }
  long long active_count = static_cast<long long>(active.size());
  if (!reason.empty()) {
    // As Kubernetes 1.31 does: FailureTarget now, Failed once no pod is left running.
    for (const auto& p : active) deletePod(p);
    json c = {{"type", "FailureTarget"}, {"status", "True"}, {"reason", reason}, {"message", message}};
    putCondition(conditions, c, t, false, true);
    if (active.empty() && terminating.empty()) {
      c["type"] = "Failed";
      putCondition(conditions, c, t, false, true);
      finished_at_[uid] = t;
      log("job-controller: Job " + ns + "/" + name + " failed: " + reason);
    }
    active_count = 0;
  } else if (succeeded >= completions) {
    for (const auto& p : active) deletePod(p);
    json c = {{"type", "SuccessCriteriaMet"}, {"status", "True"}, {"reason", "CompletionsReached"},
              {"message", "Reached expected number of succeeded pods"}};
    putCondition(conditions, c, t, false, true);
    c["type"] = "Complete";
    putCondition(conditions, c, t, false, true);
    status["completionTime"] = rfc3339(t);
    finished_at_[uid] = t;
    active_count = 0;
    log("job-controller: Job " + ns + "/" + name + " completed");
  } else {
    if (deadline) wakeAt(start + std::chrono::seconds(*deadline));
    long long want = std::min(parallelism, completions - succeeded) - active_count;
    if (job.value("/spec/suspend"_json_pointer, false)) want = 0;
    if (want > 0) {
      TimePoint allowed = t;
      auto& seen = job_failures_[uid];
      if (failed > seen.first) seen = {failed, t};
      if (failed > 0) {
        Millis delay = options_.job_backoff;
        for (long long i = 1; i < failed && delay < options_.max_job_backoff; ++i) delay *= 2;
        allowed = seen.second + std::min(delay, options_.max_job_backoff);
      }
      if (const auto retry = create_retry_at_.find(uid); retry != create_retry_at_.end()) {
        allowed = std::max(allowed, retry->second);
      }
      if (t < allowed) {
        wakeAt(allowed);
      } else {
        for (long long i = 0; i < want; ++i) {
          const json pod = jobPod(job);
          if (auto refusal = createPod(pod)) {
            recordEvent(job, "Warning", "FailedCreate", "Error creating: " + refusal->message, "job-controller");
            create_retry_at_[uid] = t + options_.create_retry;
            wakeAt(create_retry_at_[uid]);
            break;
          }
          create_retry_at_.erase(uid);
          recordEvent(job, "Normal", "SuccessfulCreate", "Created pod: " + nameOf(pod), "job-controller");
          ++active_count;
        }
      }
    }
  }
  long long ready = 0;
  for (const auto& p : active) ready += conditionTrue(p, "Ready");
  setCount(status, "active", active_count);
  status["ready"] = reason.empty() ? ready : 0;
  setCount(status, "succeeded", succeeded);
  setCount(status, "failed", failed);
  if (!conditions.empty()) status["conditions"] = conditions;
  status["uncountedTerminatedPods"] = json::object();
  if (status == old_status) return;
  server_.update(path, [&](json& o) {
    o["status"] = status;
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// The CronJob controller.

Result<json> FakeCluster::fire(const json& cronjob, TimePoint scheduled, const std::vector<json>& jobs) {
  const std::string ns = nsOf(cronjob);
  const std::string name = nameOf(cronjob);
  const std::string uid = uidOf(cronjob);
  const std::string cronjob_path = resourcePath("batch/v1", "cronjobs", ns, name);
  std::vector<json> active;
  for (const auto& j : jobs) {
    if (nsOf(j) == ns && ownedBy(j, uid) && !jobDone(j) && !deleting(j)) active.push_back(j);
  }
  const std::string policy = str(cronjob, "/spec/concurrencyPolicy").empty() ? "Allow" : str(cronjob, "/spec/concurrencyPolicy");
  const long long minutes = std::chrono::duration_cast<std::chrono::minutes>(scheduled.time_since_epoch()).count();
  if (policy == "Forbid" && !active.empty()) {
    if (noted_.insert(uid + "|forbid|" + std::to_string(minutes)).second) {
      recordEvent(cronjob, "Normal", "JobAlreadyActive",
                  "Not starting job because prior execution is running and concurrency policy is Forbid",
                  "cronjob-controller");
    }
    return makeError(ErrorCode::kFailedPrecondition,
                     "CronJob '" + name + "' has an active Job and its concurrencyPolicy is Forbid");
  }
  if (policy == "Replace") {
    for (const auto& a : active) {
      deleteObject(jobPath(ns, nameOf(a)), a, "Background");
      recordEvent(cronjob, "Normal", "SuccessfulDelete", "Deleted job " + nameOf(a), "cronjob-controller");
    }
  }
  const std::string job_name = name + "-" + std::to_string(minutes);
  const std::string path = jobPath(ns, job_name);
  auto noteScheduled = [&](const json& job) {
    const json ref = {{"apiVersion", "batch/v1"}, {"kind", "Job"}, {"name", nameOf(job)},
                      {"namespace", ns}, {"uid", uidOf(job)}};
    server_.update(cronjob_path, [&](json& o) {
      json& status = objectAt(o, "status");
      const std::string stamp = rfc3339(scheduled);
      if (status.value("lastScheduleTime", "") < stamp) status["lastScheduleTime"] = stamp;
      if (!jobDone(job)) {
        json& refs = status["active"];
        if (!refs.is_array()) refs = json::array();
        if (std::none_of(refs.begin(), refs.end(), [&](const json& r) { return r.value("uid", "") == uidOf(job); })) {
          refs.push_back(ref);
        }
      }
      return true;
    });
  };
  if (const auto existing = server_.object(path)) {  // fired before: the same Job
    noteScheduled(*existing);
    return *existing;
  }
  const json tmpl = cronjob.value("/spec/jobTemplate"_json_pointer, json::object());
  json metadata = {{"name", job_name}, {"namespace", ns}, {"ownerReferences", json::array({ownerRef(cronjob)})}};
  if (tmpl.contains("/metadata/labels"_json_pointer)) metadata["labels"] = tmpl["metadata"]["labels"];
  json annotations = tmpl.value("/metadata/annotations"_json_pointer, json::object());
  annotations["batch.kubernetes.io/cronjob-scheduled-timestamp"] = rfc3339(scheduled);
  metadata["annotations"] = annotations;
  json job = {{"apiVersion", "batch/v1"}, {"kind", "Job"}, {"metadata", metadata},
              {"spec", tmpl.value("spec", json::object())}};
  if (auto refusal = admit(resourcePath("batch/v1", "jobs", ns), job, json())) {
    recordEvent(cronjob, "Warning", "FailedCreate", "Error creating job: " + refusal->message, "cronjob-controller");
    return makeError(refusal->code == 403 ? ErrorCode::kForbidden : ErrorCode::kUnprocessable, refusal->message);
  }
  const json stored = server_.put(path, job);
  recordEvent(cronjob, "Normal", "SuccessfulCreate", "Created job " + job_name, "cronjob-controller");
  noteScheduled(stored);
  log("cronjob-controller: CronJob " + ns + "/" + name + " fired for " + rfc3339(scheduled) + ": Job " + job_name);
  return stored;
}

void FakeCluster::syncCronJob(const json& cronjob, const std::vector<json>& jobs) {
  const std::string ns = nsOf(cronjob);
  const std::string name = nameOf(cronjob);
  const std::string uid = uidOf(cronjob);
  const std::string path = resourcePath("batch/v1", "cronjobs", ns, name);
  std::vector<json> owned;
  for (const auto& j : jobs) {
    if (nsOf(j) == ns && ownedBy(j, uid)) owned.push_back(j);
  }
  if (finishDeletion(path, cronjob, owned, "Foreground")) return;
  const TimePoint t = now();
  std::vector<json> active, succeeded, failed;
  std::string last_success;
  for (const auto& j : owned) {
    if (deleting(j)) continue;
    if (conditionTrue(j, "Complete")) {
      succeeded.push_back(j);
      last_success = std::max(last_success, str(j, "/status/completionTime"));
    } else if (conditionTrue(j, "Failed")) {
      failed.push_back(j);
    } else {
      active.push_back(j);
    }
  }
  // History limits: the oldest finished Jobs beyond them go (Background, as the controller does).
  auto prune = [&](std::vector<json> list, long long limit) {
    std::sort(list.begin(), list.end(), [](const json& a, const json& b) {
      return std::pair(str(a, "/metadata/creationTimestamp"), nameOf(a)) <
             std::pair(str(b, "/metadata/creationTimestamp"), nameOf(b));
    });
    for (std::size_t i = 0; static_cast<long long>(list.size() - i) > limit; ++i) {
      deleteObject(jobPath(ns, nameOf(list[i])), list[i], "Background");
      recordEvent(cronjob, "Normal", "SuccessfulDelete", "Deleted job " + nameOf(list[i]), "cronjob-controller");
    }
  };
  prune(succeeded, intAt(cronjob, "/spec/successfulJobsHistoryLimit").value_or(3));
  prune(failed, intAt(cronjob, "/spec/failedJobsHistoryLimit").value_or(1));

  if (!cronjob.value("/spec/suspend"_json_pointer, false)) {
    const std::string text = str(cronjob, "/spec/schedule");
    auto schedule = parseCronSchedule(text, str(cronjob, "/spec/timeZone"));
    if (!schedule) {
      if (noted_.insert(uid + "|schedule|" + text).second) {
        recordEvent(cronjob, "Warning", "UnparseableSchedule",
                    "unparseable schedule: \"" + text + "\" : " + schedule.error().message, "cronjob-controller");
      }
    } else {
      const TimePoint base = timeAt(cronjob, "/status/lastScheduleTime")
                                 .value_or(timeAt(cronjob, "/metadata/creationTimestamp").value_or(t));
      const auto due = cron::lastFireAtOrBefore(*schedule, t);
      const auto retry = create_retry_at_.find(uid);
      if (due && *due > base) {
        const auto deadline = intAt(cronjob, "/spec/startingDeadlineSeconds");
        if (deadline && t > *due + std::chrono::seconds(*deadline)) {
          if (noted_.insert(uid + "|missed|" + rfc3339(*due)).second) {
            recordEvent(cronjob, "Warning", "MissSchedule", "Missed scheduled time to start a job: " + rfc3339(*due),
                        "cronjob-controller");
          }
        } else if (retry != create_retry_at_.end() && t < retry->second) {
          wakeAt(retry->second);
        } else {
          auto fired = fire(cronjob, *due, jobs);
          if (fired) {
            create_retry_at_.erase(uid);
            return;  // its status is written; the next pass sees the new Job
          }
          if (fired.error().code != ErrorCode::kFailedPrecondition) {
            create_retry_at_[uid] = t + options_.create_retry;
            wakeAt(create_retry_at_[uid]);
          }
        }
      }
      if (const auto next = cron::nextFireAfter(*schedule, t)) wakeAt(*next);
    }
  }
  json refs = json::array();
  for (const auto& a : active) {
    refs.push_back({{"apiVersion", "batch/v1"}, {"kind", "Job"}, {"name", nameOf(a)}, {"namespace", ns}, {"uid", uidOf(a)}});
  }
  server_.update(path, [&](json& o) {
    const json old = o.value("status", json::object());
    json status = old;
    if (refs.empty()) status.erase("active");
    else status["active"] = refs;
    if (!last_success.empty() && status.value("lastSuccessfulTime", "") < last_success) {
      status["lastSuccessfulTime"] = last_success;
    }
    if (status == old) return false;
    o["status"] = status;
    return true;
  });
}

// ---------------------------------------------------------------------------------------------
// The Deployment controller (ReplicaSets collapsed into it).

void FakeCluster::syncDeployment(const json& deployment, const std::vector<json>& pods) {
  const std::string ns = nsOf(deployment);
  const std::string name = nameOf(deployment);
  const std::string uid = uidOf(deployment);
  const std::string path = resourcePath("apps/v1", "deployments", ns, name);
  std::vector<json> owned;
  for (const auto& p : pods) {
    if (nsOf(p) != ns) continue;
    const auto refs = p.value("/metadata/ownerReferences"_json_pointer, json::array());
    if (std::any_of(refs.begin(), refs.end(), [&](const json& r) {
          return r.value("kind", "") == "ReplicaSet" && r.value("uid", "").rfind(uid + "-", 0) == 0;
        })) {
      owned.push_back(p);
    }
  }
  if (finishDeletion(path, deployment, owned, "Background")) return;
  const TimePoint t = now();
  const std::string hash = templateHash(deployment.value("/spec/template"_json_pointer, json::object()));
  const json rs = replicaSetOf(deployment, hash);
  const long long replicas = intAt(deployment, "/spec/replicas").value_or(1);
  auto live = [](const json& p) { return !deleting(p) && !terminal(p); };
  std::vector<json> current_live, old;
  for (const auto& p : owned) {
    if (str(p, "/metadata/labels/pod-template-hash") != hash) {
      old.push_back(p);
    } else if (live(p)) {
      current_live.push_back(p);
    } else if (terminal(p) && !deleting(p)) {
      deletePod(p);  // a pod that ended for good is replaced
    }
  }
  if (!old.empty()) {
    // Recreate: every old pod goes first; the new ones start once all of them are gone.
    for (const auto& p : old) deletePod(p);
  } else if (static_cast<long long>(current_live.size()) < replicas) {
    const auto retry = create_retry_at_.find(uid);
    if (retry != create_retry_at_.end() && t < retry->second) {
      wakeAt(retry->second);
    } else {
      for (auto n = static_cast<long long>(current_live.size()); n < replicas; ++n) {
        const json pod = deploymentPod(deployment, hash);
        if (auto refusal = createPod(pod)) {
          recordEvent(rs, "Warning", "FailedCreate", "Error creating: " + refusal->message, "replicaset-controller");
          replica_failures_[uid] = refusal->message;
          create_retry_at_[uid] = t + options_.create_retry;
          wakeAt(create_retry_at_[uid]);
          break;
        }
        replica_failures_.erase(uid);
        create_retry_at_.erase(uid);
        recordEvent(rs, "Normal", "SuccessfulCreate", "Created pod: " + nameOf(pod), "replicaset-controller");
      }
    }
  } else if (static_cast<long long>(current_live.size()) > replicas) {
    // Scale down: pods that are not ready go first, then the newest.
    std::sort(current_live.begin(), current_live.end(), [](const json& a, const json& b) {
      const bool ra = conditionTrue(a, "Ready"), rb = conditionTrue(b, "Ready");
      if (ra != rb) return !ra;
      return str(a, "/metadata/creationTimestamp") > str(b, "/metadata/creationTimestamp");
    });
    for (std::size_t i = 0; static_cast<long long>(current_live.size() - i) > replicas; ++i) deletePod(current_live[i]);
  }

  long long total = 0, updated = 0, ready = 0;
  for (const auto& p : owned) {
    if (!live(p)) continue;
    ++total;
    updated += str(p, "/metadata/labels/pod-template-hash") == hash;
    ready += conditionTrue(p, "Ready");
  }
  const long long available = ready;  // minReadySeconds: 0
  long long max_unavailable = 0;
  if (str(deployment, "/spec/strategy/type") != "Recreate") {
    const json mu = deployment.value("/spec/strategy/rollingUpdate/maxUnavailable"_json_pointer, json("25%"));
    if (mu.is_number_integer()) max_unavailable = mu.get<long long>();
    else if (mu.is_string() && mu.get<std::string>().ends_with("%")) {
      const std::string pct = mu.get<std::string>();
      max_unavailable = replicas * std::stoll(pct.substr(0, pct.size() - 1)) / 100;
    }
  }
  json status = deployment.value("status", json::object());
  const json old_status = status;
  status["observedGeneration"] = intAt(deployment, "/metadata/generation").value_or(1);
  setCount(status, "replicas", total);
  setCount(status, "updatedReplicas", updated);
  setCount(status, "readyReplicas", ready);
  setCount(status, "availableReplicas", available);
  setCount(status, "unavailableReplicas", std::max(0LL, replicas - available));
  json conditions = status.value("conditions", json::array());
  const bool minimum = available >= replicas - max_unavailable;
  putCondition(conditions,
               {{"type", "Available"}, {"status", minimum ? "True" : "False"},
                {"reason", minimum ? "MinimumReplicasAvailable" : "MinimumReplicasUnavailable"},
                {"message", minimum ? "Deployment has minimum availability." : "Deployment does not have minimum availability."}},
               t, true);
  const bool complete = old.empty() && updated == replicas && total == replicas && available >= replicas;
  putCondition(conditions,
               {{"type", "Progressing"}, {"status", "True"},
                {"reason", complete ? "NewReplicaSetAvailable" : "ReplicaSetUpdated"},
                {"message", "ReplicaSet \"" + nameOf(rs) + (complete ? "\" has successfully progressed." : "\" is progressing.")}},
               t, true);
  if (const auto failure = replica_failures_.find(uid); failure != replica_failures_.end()) {
    putCondition(conditions,
                 {{"type", "ReplicaFailure"}, {"status", "True"}, {"reason", "FailedCreate"}, {"message", failure->second}},
                 t, true);
  } else {
    dropCondition(conditions, "ReplicaFailure");
  }
  status["conditions"] = conditions;
  if (status == old_status) return;
  server_.update(path, [&](json& o) {
    o["status"] = status;
    return true;
  });
}

}  // namespace tjf::kubernetes::testing
