#include "kubernetes/config.hpp"

#include <gtest/gtest.h>

namespace tjf::kubernetes {
namespace {

// The example of docs/kubernetes.md, "Operator configuration".
constexpr const char* kExample = R"(
kubernetes:
  access: kubeconfig
  kubeconfig: /etc/tjf/kubeconfig
  context: toolforge
  namespaces: [tool-mytool]
  watch_timeout_seconds: 120
  place_jobs: true
  namespace_prefix: tool-
  default_cpu_limit: "1"
  memory_request_equals_limit_up_to: 512Mi
  ttl_seconds_after_finished: 30
  run_ttl_seconds_after_finished: 86400
  jobs_history_limit: 1
  progress_deadline_seconds: 600
  termination_grace_period_seconds: 15
  run_as_uid: 52503
  run_as_gid: 52503
  volumes:
    - name: home
      mount_path: /data/project
      host_path: /data/project
    - name: dumps
      mount_path: /public/dumps
      read_only: true
      nfs: {server: dumps.example.org, path: /export/dumps}
)";

TEST(KubernetesConfig, ParsesTheDocumentedExample) {
  const YAML::Node root = YAML::Load(kExample);
  auto c = kubernetesConfigFromYaml(root["kubernetes"], "config file 'x'");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->access, AccessMode::kKubeconfig);
  EXPECT_EQ(c->kubeconfig, "/etc/tjf/kubeconfig");
  EXPECT_EQ(c->context, "toolforge");
  EXPECT_EQ(c->namespaces, std::vector<std::string>{"tool-mytool"});
  EXPECT_EQ(c->watch_timeout_seconds, 120);
  EXPECT_EQ(c->manifests.memory_request_equals_limit_up_to, 512LL << 20);
  EXPECT_EQ(c->runs.ttl_seconds_after_finished, 86400);
  EXPECT_EQ(c->runs.default_uid, 52503u);
  ASSERT_EQ(c->manifests.volumes.size(), 2u);
  EXPECT_EQ(c->manifests.volumes[0].host_path->path, "/data/project");
  EXPECT_EQ(c->manifests.volumes[0].host_path->type, "Directory");
  EXPECT_TRUE(c->manifests.volumes[1].read_only);
  EXPECT_EQ(c->manifests.volumes[1].nfs->server, "dumps.example.org");
  const auto options = runtimeOptionsFor(*c, "/var/lib/tjf");
  EXPECT_EQ(options.layout.runDir(3), "/var/lib/tjf/runs/3");
  EXPECT_EQ(options.namespaces, c->namespaces);
  EXPECT_TRUE(options.place_jobs);
}

TEST(KubernetesConfig, PlaceJobsCanBeTurnedOff) {
  auto off = kubernetesConfigFromYaml(YAML::Load("place_jobs: false"), "config file 'x'");
  ASSERT_TRUE(off) << off.error().message;
  EXPECT_FALSE(off->place_jobs);
  EXPECT_FALSE(runtimeOptionsFor(*off, "/var/lib/tjf").place_jobs);
  auto defaults = kubernetesConfigFromYaml(YAML::Load(""), "config file 'x'");
  ASSERT_TRUE(defaults);
  EXPECT_TRUE(defaults->place_jobs);
  auto wrong = kubernetesConfigFromYaml(YAML::Load("place_jobs: sometimes"), "config file 'x'");
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().message, "config file 'x', section 'kubernetes': 'place_jobs' has the wrong type");
}

TEST(KubernetesConfig, RefusesTyposAndBadValues) {
  auto parse = [](const std::string& text) {
    return kubernetesConfigFromYaml(YAML::Load(text), "config file 'x'");
  };
  auto typo = parse("namespace: [a]");
  ASSERT_FALSE(typo);
  EXPECT_EQ(typo.error().message, "config file 'x', section 'kubernetes': unknown key 'namespace'");
  auto access = parse("access: cluster");
  ASSERT_FALSE(access);
  EXPECT_EQ(access.error().message,
            "config file 'x', section 'kubernetes': 'access' must be 'kubeconfig' or 'in_cluster', not 'cluster'");
  EXPECT_FALSE(parse("default_cpu_limit: 1g"));
  EXPECT_FALSE(parse("ttl_seconds_after_finished: -1"));
  EXPECT_FALSE(parse("ttl_seconds_after_finished: soon"));
  auto both = parse("volumes: [{name: v, mount_path: /v, host_path: /v, nfs: {server: s, path: /p}}]");
  ASSERT_FALSE(both);
  EXPECT_NE(both.error().message.find("exactly one of 'host_path' and 'nfs'"), std::string::npos);
  EXPECT_TRUE(parse(""));  // no section: defaults
}

}  // namespace
}  // namespace tjf::kubernetes
