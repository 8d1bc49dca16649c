// tjf-fake-kube-apiserver: a FAKE Kubernetes cluster in one process, FOR TESTS ONLY. It serves
// FakeCluster (fake_cluster.hpp) on 127.0.0.1 so that a real tjfd, given a kubeconfig that points
// here, runs its jobs as local processes. It is built only with the test suite.
//
//   tjf-fake-kube-apiserver [--port 0] [--url-file FILE] [--token TOKEN] [--state-log FILE]
//                           [--bookmark-seconds 60]
//
// When it listens, it writes its URL (`http://127.0.0.1:<port>`, no newline) to --url-file by
// an atomic rename, and prints it. SIGTERM or SIGINT stop it: every pod process it started gets
// SIGTERM, then SIGKILL after a second, and is reaped before it exits.
#include <signal.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "fake_cluster.hpp"

int main(int argc, char** argv) {
  tjf::kubernetes::testing::FakeClusterOptions options;
  std::string url_file;
  std::string state_log;
  CLI::App app{
      "tjf-fake-kube-apiserver: a FAKE Kubernetes API server, FOR TESTS ONLY.\n"
      "It is not Kubernetes. It speaks the Kubernetes API over plain HTTP on 127.0.0.1, plays the\n"
      "Job, CronJob, Deployment, garbage-collector and quota controllers in-process, and runs every\n"
      "pod's command as a local process of this user (no images, no isolation, no resource limits).\n"
      "Fake-only endpoints: POST /fake/v1/namespaces/<ns>/cronjobs/<name>/fire,\n"
      "POST /fake/v1/clock/advance?seconds=N, GET /fake/v1/processes.\n"
      "See docs/kubernetes.md, \"The fake cluster (tests only)\"."};
  app.add_option("--port", options.port, "TCP port on 127.0.0.1 (0: an ephemeral port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  app.add_option("--url-file", url_file, "Write the server's URL to this file once it listens");
  app.add_option("--token", options.token, "Require 'Authorization: Bearer TOKEN' on every request");
  app.add_option("--state-log", state_log, "Append a line per controller action and API change to this file");
  int bookmark_seconds = 60;
  app.add_option("--bookmark-seconds", bookmark_seconds,
                 "Send a BOOKMARK to watches that allow them this often (0: never)")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  CLI11_PARSE(app, argc, argv);
  options.state_log = state_log;
  options.bookmark_period = std::chrono::seconds(bookmark_seconds);

  // SIGTERM and SIGINT are taken by sigwait() below; block them before any thread exists, so
  // that every thread inherits the mask. Pod processes get a clean mask and default handlers.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  std::unique_ptr<tjf::kubernetes::testing::FakeCluster> cluster;
  try {
    cluster = std::make_unique<tjf::kubernetes::testing::FakeCluster>(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tjf-fake-kube-apiserver: %s\n", e.what());
    return 1;
  }
  const std::string url = cluster->url();
  if (!url_file.empty()) {
    const std::string tmp = url_file + ".tmp." + std::to_string(::getpid());
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << url;
      if (!out.flush()) {
        std::fprintf(stderr, "tjf-fake-kube-apiserver: cannot write '%s'\n", tmp.c_str());
        return 1;
      }
    }
    if (std::rename(tmp.c_str(), url_file.c_str()) != 0) {
      std::fprintf(stderr, "tjf-fake-kube-apiserver: cannot rename '%s' to '%s'\n", tmp.c_str(),
                   url_file.c_str());
      return 1;
    }
  }
  std::printf("tjf-fake-kube-apiserver: a FAKE Kubernetes API server for tests, listening on %s\n",
              url.c_str());
  std::fflush(stdout);

  int sig = 0;
  while (sigwait(&stop_signals, &sig) != 0) {
  }
  std::printf("tjf-fake-kube-apiserver: signal %d: stopping every pod process\n", sig);
  std::fflush(stdout);
  cluster->shutdown();
  cluster.reset();
  return 0;
}
