// Health-check probes of continuous jobs, run asynchronously on the loop's io_context: a probe
// never blocks the loop, and a hung one is ended at its timeout.
//
//  - script: `/bin/sh -c <script>` in the job's environment and working directory, as the job's
//    user, in its own process group; healthy when it exits 0. At the timeout the whole group is
//    killed (SIGKILL); whatever the script left behind is killed when it ends, too.
//  - HTTP: `GET <path>` to 127.0.0.1:<port>; healthy on a 2xx or 3xx status (as Kubernetes).
//  - TCP: a connection to 127.0.0.1:<port> is accepted.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

namespace tjf::runtime {

enum class ProbeKind { kScript, kHttp, kTcp };
std::string_view toString(ProbeKind kind);

struct ProbeSpec {
  ProbeKind kind = ProbeKind::kScript;
  // kScript
  std::string script;
  std::filesystem::path workdir;
  std::vector<std::string> env;  // KEY=VALUE, the whole environment
  std::optional<uid_t> uid;      // platform mode: the tool's identity (only applied as root)
  std::optional<gid_t> gid;
  std::vector<gid_t> groups;
  // cgroup.procs files the script joins before it drops privileges and runs, so it counts
  // against the run's limits (runtime/cgroups.hpp); failing to join fails the probe.
  std::vector<std::string> cgroup_procs;
  // kHttp, kTcp
  std::uint16_t port = 0;
  std::string path = "/";  // kHttp
  std::chrono::milliseconds timeout{5'000};
};

struct ProbeResult {
  bool healthy = false;
  bool timed_out = false;
  // For a person: "exit code 1: <first output>", "HTTP 503", "connection refused", "timed out
  // after 5s".
  std::string message;
};

// Runs probes. Owned by the loop thread; every method is called on it, and every callback runs
// on it, exactly once per started probe unless cancelled, and never from inside start().
class Prober {
 public:
  using Callback = std::function<void(const ProbeResult&)>;
  using ProbeId = std::uint64_t;

  virtual ~Prober() = default;
  virtual ProbeId start(const ProbeSpec& spec, Callback done) = 0;
  // Ends a probe early (its processes are killed); its callback is not called. Unknown or
  // finished ids are ignored.
  virtual void cancel(ProbeId id) = 0;
};

class LocalProber final : public Prober {
 public:
  explicit LocalProber(boost::asio::io_context& io);
  // Kills the process groups of probes still running and reaps them.
  ~LocalProber() override;
  LocalProber(const LocalProber&) = delete;
  LocalProber& operator=(const LocalProber&) = delete;

  ProbeId start(const ProbeSpec& spec, Callback done) override;
  void cancel(ProbeId id) override;

  // Probes started and not yet reaped (tests; a cancelled script probe counts until reaped).
  std::size_t inFlight() const { return operations_.size(); }

 private:
  struct Operation;
  void startScript(const std::shared_ptr<Operation>& op, const ProbeSpec& spec);
  void startNetwork(const std::shared_ptr<Operation>& op, const ProbeSpec& spec);
  void finish(const std::shared_ptr<Operation>& op, ProbeResult result);
  void onScriptExit(const std::shared_ptr<Operation>& op);
  void readOutput(const std::shared_ptr<Operation>& op);

  boost::asio::io_context& io_;
  ProbeId next_id_ = 1;
  std::map<ProbeId, std::shared_ptr<Operation>> operations_;
};

}  // namespace tjf::runtime
