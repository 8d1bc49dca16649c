// The Kubernetes runtime's cost, on the in-repo FAKE cluster (`tjf-fake-kube-apiserver`), beside
// its floors in the same run: a bare fork/exec, the fake cluster alone (a Job POSTed straight to
// it), and tjfd on the local runtime. Each sample ends when the job's command has created a
// marker file in the tool home (inotify). bench/README.md has the command and the results.
//
//   build/bin/kubernetes_bench [samples] [continuous-jobs-for-the-restart]
#include <spawn.h>
#include <sys/inotify.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "harness.hpp"
#include "kubernetes/client.hpp"

extern char** environ;

namespace {

using namespace tjf::testing;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

double ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

void waitCreated(int in, const std::string& name) {
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(in, buf, sizeof buf);
    if (n <= 0) return;
    for (char* p = buf; p < buf + n;) {
      auto* e = reinterpret_cast<inotify_event*>(p);
      if (e->len > 0 && name == e->name) return;
      p += sizeof(inotify_event) + e->len;
    }
  }
}

struct Stats {
  double median, p90;
};
Stats stats(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v[v.size() * 9 / 10]};
}

// Samples of "submit, then wait for the marker" in `home`.
template <typename Submit>
std::vector<double> sample(int samples, const std::filesystem::path& home, const std::string& tag,
                           Submit submit) {
  const int in = inotify_init1(IN_CLOEXEC);
  inotify_add_watch(in, home.c_str(), IN_CREATE);
  std::vector<double> out;
  for (int i = 0; i < samples; ++i) {
    const std::string marker = tag + "-" + std::to_string(i);
    const auto t0 = Clock::now();
    submit(i, marker);
    waitCreated(in, marker);
    out.push_back(ms(Clock::now() - t0));
  }
  ::close(in);
  return out;
}

std::string postJob(TestDaemon& daemon, const std::string& name, const std::string& cmd,
                    bool continuous) {
  json body = {{"name", name}, {"cmd", cmd}, {"imagename", "bookworm"}, {"filelog", false}};
  if (continuous) body["continuous"] = true;
  return daemon.http("POST", "/v1/tool/" + daemon.tool() + "/jobs", body.dump()).second;
}

}  // namespace

int main(int argc, char** argv) {
  const int samples = argc > 1 ? std::atoi(argv[1]) : 30;
  const int continuous = argc > 2 ? std::atoi(argv[2]) : 50;
  char tmpl[] = "/tmp/tjf-k8s-bench-XXXXXX";
  const std::filesystem::path scratch = ::mkdtemp(tmpl);
  FakeKubeApiServer fake(scratch);
  fake.writeKubeconfig(scratch / "kubeconfig");
  TestDaemon local;
  TestDaemon cluster(DaemonOptions{
      .config_yaml = kubernetesRuntimeConfig(scratch / "kubeconfig", "1000", "1000")});
  const auto home = cluster.home();

  const auto bare = sample(samples, home, "bare", [&](int, const std::string& marker) {
    const std::string cmd = ": > " + marker;
    const char* args[] = {"/bin/sh", "-c", cmd.c_str(), nullptr};
    pid_t pid = -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addchdir_np(&fa, home.c_str());
    posix_spawn(&pid, "/bin/sh", &fa, nullptr, const_cast<char**>(args), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::waitpid(pid, nullptr, 0);
  });

  // The fake cluster alone: a minimal Job straight to its API, as a client would create it.
  tjf::kubernetes::ClusterAccess access;
  access.server = fake.url();
  access.token = FakeKubeApiServer::kToken;
  auto client = tjf::kubernetes::Client::create(access);
  if (!client) {
    std::fprintf(stderr, "client: %s\n", client.error().message.c_str());
    return 1;
  }
  const std::string ns = "tool-" + cluster.tool();
  const auto direct = sample(samples, home, "direct", [&](int i, const std::string& marker) {
    const json job = {
        {"apiVersion", "batch/v1"},
        {"kind", "Job"},
        {"metadata", {{"name", "direct-" + std::to_string(i)}, {"namespace", ns}}},
        {"spec",
         {{"backoffLimit", 0},
          {"template",
           {{"spec",
             {{"restartPolicy", "Never"},
              {"containers",
               {{{"name", "job"},
                 {"image", "bookworm"},
                 {"workingDir", home.string()},
                 {"command", {"/bin/sh", "-c", ": > " + marker}}}}}}}}}}}};
    (void)(*client)->create(tjf::kubernetes::resourcePath("batch/v1", "jobs", ns), job);
  });

  const auto on_local = sample(samples, local.home(), "local", [&](int i, const std::string& m) {
    postJob(local, "l" + std::to_string(i), ": > " + m, false);
  });
  const auto on_cluster = sample(samples, home, "oneoff", [&](int i, const std::string& m) {
    postJob(cluster, "k" + std::to_string(i), ": > " + m, false);
  });
  const auto placed = sample(samples, home, "placed", [&](int i, const std::string& m) {
    postJob(cluster, "d" + std::to_string(i), ": > " + m + "; exec sleep 600", true);
  });
  cluster.jobs({"flush"});
  local.jobs({"flush"});

  // A restart with running continuous jobs: SIGTERM, start, until `list` shows each running.
  for (int i = 0; i < continuous; ++i) postJob(cluster, "c" + std::to_string(i), "sleep 600", true);
  auto countRunning = [&] {
    const auto [code, body] = cluster.http("GET", "/v1/tool/" + cluster.tool() + "/jobs");
    int running = 0;
    if (code != 200) return running;
    const json listed = json::parse(body);  // kept: the loop must not walk a destroyed temporary
    for (const auto& j : listed.at("jobs")) running += j.at("status_short") == "Running";
    return running;
  };
  auto allRunning = [&] { return countRunning() == continuous; };
  if (!eventually(allRunning, std::chrono::minutes(2))) {
    std::fprintf(stderr, "only %d of %d continuous jobs are running\n", countRunning(), continuous);
    return 1;
  }
  // Re-adoption needs the cluster's first lists; a new run needs them too, so the first new run
  // after the restart shows when tjfd works on the cluster again.
  const int in = inotify_init1(IN_CLOEXEC);
  inotify_add_watch(in, home.c_str(), IN_CREATE);
  cluster.stop();
  const auto t0 = Clock::now();
  cluster.start();
  const double serving = ms(Clock::now() - t0);
  postJob(cluster, "after-restart", ": > after-restart", false);
  waitCreated(in, "after-restart");
  const double restart = ms(Clock::now() - t0);
  ::close(in);
  if (!allRunning()) {
    std::fprintf(stderr, "after the restart, only %d of %d continuous jobs are running; see %s\n",
                 countRunning(), continuous, (cluster.root() / "tjfd.log").c_str());
    return 1;
  }
  cluster.jobs({"flush"});
  std::filesystem::remove_all(scratch);

  const auto b = stats(bare), d = stats(direct), l = stats(on_local), k = stats(on_cluster),
             p = stats(placed);
  std::printf("| measurement (%d samples) | median | p90 | ratio to the fake cluster alone |\n"
              "|---|---|---|---|\n", samples);
  std::printf("| bare fork/exec of /bin/sh -c | %.2f ms | %.2f ms | %.2f |\n", b.median, b.p90, b.median / d.median);
  std::printf("| fake cluster alone: POST a Job to the pod's command running | %.2f ms | %.2f ms | 1.0 |\n", d.median, d.p90);
  std::printf("| tjfd, local runtime: POST /jobs (one-off) to running | %.2f ms | %.2f ms | %.2f |\n", l.median, l.p90, l.median / d.median);
  std::printf("| tjfd on the fake cluster: POST /jobs (one-off) to running | %.2f ms | %.2f ms | %.2f |\n", k.median, k.p90, k.median / d.median);
  std::printf("| tjfd on the fake cluster: POST /jobs (continuous, a Deployment) to running | %.2f ms | %.2f ms | %.2f |\n", p.median, p.p90, p.median / d.median);
  std::printf("\n| restart of tjfd with %d running continuous jobs | time |\n|---|---|\n", continuous);
  std::printf("| start until the API answers (runs shown from the store) | %.0f ms |\n", serving);
  std::printf("| start until a new one-off job runs on the cluster (watches listed, runs re-adopted) | %.0f ms |\n", restart);
  return 0;
}
