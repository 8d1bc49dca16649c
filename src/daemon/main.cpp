// tjfd: the jobs daemon. Runs in the foreground; the README's start command puts it in the
// background. SIGTERM or SIGINT stop it gracefully; running jobs keep running (their shims are
// re-adopted by the next start).
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <algorithm>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <fstream>

#include "api/api.hpp"
#include "api/http_server.hpp"
#include "base/unique_fd.hpp"
#include "daemon/config.hpp"
#include "engine/engine.hpp"
#include "kubernetes/client.hpp"
#include "kubernetes/config.hpp"
#include "kubernetes/kubernetes_runtime.hpp"
#include "kubernetes/namespace_quota.hpp"
#include "model/images.hpp"
#include "model/state_paths.hpp"
#include "model/tool.hpp"
#include "model/tool_directory_unix.hpp"
#include "notify/notifier.hpp"
#include "notify/smtp.hpp"
#include "runtime/local_runtime.hpp"
#include "service/envvars.hpp"
#include "service/job_service.hpp"
#include "service/log_retention.hpp"
#include "service/quota.hpp"
#include "store/store.hpp"

namespace {

using namespace tjf;

int fail(const std::string& message) {
  std::fprintf(stderr, "tjfd: error: %s\n", message.c_str());
  return 1;
}

std::filesystem::path siblingExecutable(const char* name) {
  if (const char* override_path = std::getenv("TJF_SHIM")) return override_path;
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  return self.parent_path() / name;
}

// Email notifications (docs/email.md): the mailer's thread and the notifier, or neither when
// smtp_url is not set. The notifier is declared last, so it goes before the mailer it uses.
struct Email {
  std::unique_ptr<notify::ThreadedMailer> mailer;
  std::unique_ptr<notify::Notifier> notifier;
};

Result<Email> startEmail(boost::asio::io_context& io, store::Store& store, const Clock& clock,
                         const model::ToolDirectory& tools, const model::StateLayout& layout,
                         const daemon::EmailConfig& c) {
  Email email;
  if (c.smtp_url.empty()) return email;
  notify::SmtpOptions smtp{.url = c.smtp_url, .user = c.smtp_user,
                           .starttls = c.smtp_starttls, .ca_file = c.smtp_ca_file};
  if (!c.smtp_password_file.empty()) {
    auto password = notify::readPasswordFile(c.smtp_password_file);
    if (!password) return tl::unexpected(password.error());
    smtp.password = std::move(*password);
  }
  if (!smtp.user.empty() && !smtp.starttls && smtp.url.rfind("smtps://", 0) != 0) {
    std::fprintf(stderr, "tjfd: warning: smtp_user is set but the SMTP connection is not "
                         "encrypted (smtps:// or smtp_starttls: true)\n");
  }
  auto transport = notify::CurlSmtpTransport::create(std::move(smtp));
  if (!transport) return tl::unexpected(transport.error());
  const notify::AddressTemplate to{.to_template = c.mail_to_template,
                                   .prefix = c.mail_to_prefix,
                                   .domain = c.mail_to_domain};
  if (auto ok = notify::checkAddressTemplate(to); !ok) return tl::unexpected(ok.error());
  if (notify::bareAddress(c.mail_from).find('@') == std::string::npos) {
    return invalidArgument("mail_from '" + c.mail_from + "' is not an address");
  }
  const auto millis = [](double s) { return Millis(static_cast<std::int64_t>(s * 1000.0)); };
  const Millis window = millis(c.batch_seconds);
  email.mailer = std::make_unique<notify::ThreadedMailer>(io, std::move(*transport));
  email.notifier = std::make_unique<notify::Notifier>(
      io, store, *email.mailer, clock,
      notify::NotifierOptions{.layout = layout,
                              .tools = &tools,
                              .mail_from = c.mail_from,
                              .to = to,
                              .batch_window = window,
                              .poll_interval = std::clamp(window / 2, Millis(100), Millis(1'000)),
                              .retry_base = millis(c.retry_seconds),
                              .retry_cap = millis(c.retry_max_seconds),
                              .check_log_owner = ::geteuid() == 0});
  if (auto ok = email.notifier->start(); !ok) return tl::unexpected(ok.error());
  std::fprintf(stderr, "tjfd: email notifications through %s to %s, batched per tool for %gs\n",
               c.smtp_url.c_str(), c.mail_to_template.c_str(), c.batch_seconds);
  return email;
}

// -- platform mode (docs/platform-mode.md) -------------------------------------------------------

// The store holds every tool's envvars: the state directory and the database files are the
// daemon's alone. The database file is created 0600 before SQLite opens it, and SQLite gives its
// -wal and -shm files the database's mode; files left by an older tjfd are tightened here too.
Status securePrivateFiles(const model::StateLayout& layout) {
  if (::chmod(layout.root().c_str(), 0700) != 0) {
    return systemError("cannot make the state directory '" + layout.root().string() + "' private",
                       errno);
  }
  const std::string db = layout.database().string();
  if (UniqueFd created(::open(db.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600));
      !created.valid()) {
    return systemError("cannot create the store '" + db + "'", errno);
  }
  for (const std::string& file : {db, db + "-wal", db + "-shm"}) {
    if (::chmod(file.c_str(), 0600) != 0 && errno != ENOENT) {
      return systemError("cannot make '" + file + "' private", errno);
    }
  }
  return {};
}

// Who the tools are: the one tool of personal mode, or platform mode's Unix accounts.
struct Tools {
  std::unique_ptr<model::ToolDirectory> directory;
  const model::UnixToolDirectory* accounts = nullptr;  // platform mode
  std::string personal_tool;                           // personal mode
  std::string description;                             // for the start-up line
};

Result<Tools> makeTools(const daemon::Config& config) {
  Tools tools;
  if (config.mode == daemon::Mode::kPlatform) {
    if (::geteuid() != 0) {
      return invalidArgument("platform mode runs each tool's jobs as the tool's account and needs "
                             "root; start tjfd as root, or use personal mode");
    }
    const auto ttl = Millis(static_cast<std::int64_t>(config.platform.tool_cache_seconds * 1000));
    auto accounts = model::UnixToolDirectory::create(
        {.prefix = config.platform.tool_prefix,
         .home_template = config.platform.tool_home_template,
         .ttl = ttl,
         .negative_ttl = std::min(ttl, Millis(2'000))});
    if (!accounts) return tl::unexpected(accounts.error());
    tools.accounts = accounts->get();
    tools.description = "platform mode: tools are the accounts '" +
                        (*accounts)->accountName("<tool>") + "', home " +
                        (config.platform.tool_home_template.empty()
                             ? std::string("from passwd")
                             : "'" + config.platform.tool_home_template + "'");
    tools.directory = std::move(*accounts);
    return tools;
  }
  auto tool = model::personalTool(config.tool, config.tool_home.string());
  if (!tool) return tl::unexpected(tool.error());
  tools.personal_tool = tool->name;
  tools.description = "tool '" + tool->name + "' (home " + tool->home.string() + ")";
  tools.directory = std::make_unique<model::SingleToolDirectory>(*tool);
  return tools;
}

// Who a connection is (api/http_server.hpp): a TLS client by its certificate's common name; on
// the Unix socket, platform mode maps the peer's uid to its tool account, personal mode serves
// its own user (and root); plain TCP (personal mode only) is the tool, as before.
api::Authenticator makeAuthenticator(const Tools& tools, bool platform) {
  const uid_t self = ::getuid();
  return [&tools, platform, self](const api::Peer& peer) -> api::Identity {
    if (peer.certificate) {
      if (!peer.certificate->common_name) return {"", peer.certificate->refusal};
      const std::string& name = *peer.certificate->common_name;
      auto tool = tools.directory->find(name);
      if (!tool) {
        return {"", "the client certificate is for '" + name + "', which is no tool here (" +
                        tool.error().message + ")"};
      }
      return {tool->name, ""};
    }
    if (!peer.credentials) {
      if (platform) return {"", "a TCP client must use TLS with its tool's certificate"};
      return {tools.personal_tool, ""};
    }
    const uid_t uid = peer.credentials->uid;
    if (!platform) {
      if (uid == self || uid == 0) return {tools.personal_tool, ""};
      return {"", "this tjfd is the personal daemon of uid " + std::to_string(self) +
                      " and serves no one else"};
    }
    if (uid == 0) {
      return {"", "root is no tool; run the command as the tool's account (for example "
                  "`runuser -u " + tools.accounts->accountName("<tool>") +
                  " -- toolforge jobs list`)"};
    }
    auto tool = tools.accounts->findByUid(uid);
    if (!tool) return {"", tool.error().message};
    return {tool->name, ""};
  };
}

Result<api::UnixSocketOptions> socketOptions(const daemon::Config& config) {
  api::UnixSocketOptions options;
  options.mode = static_cast<mode_t>(config.platform.socket_mode.value_or(0600));
  if (!config.platform.socket_group.empty()) {
    std::vector<char> buffer(16384);
    group entry{};
    group* found = nullptr;
    const int rc = ::getgrnam_r(config.platform.socket_group.c_str(), &entry, buffer.data(),
                                buffer.size(), &found);
    if (rc != 0 || !found) {
      return invalidArgument("socket_group '" + config.platform.socket_group +
                             "' is not a group of this machine");
    }
    options.group = found->gr_gid;
  }
  return options;
}

// -- the runtime: processes on this machine, or a Kubernetes cluster (docs/kubernetes.md) --------

// The service's view of a namespace's quota figures (service/quota.hpp, ClusterQuota).
service::ClusterQuota clusterQuotaFrom(const kubernetes::NamespaceQuotaFigures& figures) {
  using Q = service::ClusterQuota;
  const auto count = [](const std::optional<kubernetes::QuotaCount>& c) -> std::optional<Q::Count> {
    if (!c) return std::nullopt;
    return Q::Count{.hard = c->hard, .used = c->used};
  };
  const auto bound = [](const std::optional<kubernetes::QuotaBound>& b) -> std::optional<Q::Bound> {
    if (!b) return std::nullopt;
    return Q::Bound{.text = b->text, .value = b->value};
  };
  Q out;
  if (const auto& q = figures.resource_quota) {
    out.quota = Q::Quota{.pods = count(q->pods), .jobs = count(q->jobs),
                         .cron_jobs = count(q->cron_jobs), .continuous_jobs = count(q->deployments),
                         .cpu_millis = count(q->cpu_millis), .memory_bytes = count(q->memory_bytes)};
  }
  if (const auto& l = figures.limit_range) {
    out.limits = Q::Limits{.min_cpu_millis = bound(l->min_cpu), .max_cpu_millis = bound(l->max_cpu),
                           .min_memory_bytes = bound(l->min_memory),
                           .max_memory_bytes = bound(l->max_memory)};
  }
  return out;
}

struct Runtimes {
  std::unique_ptr<runtime::LocalRuntime> local;
  std::unique_ptr<kubernetes::Client> client;
  std::unique_ptr<kubernetes::KubernetesRuntime> cluster;  // after the client it uses
  // The namespaces' ResourceQuotas and LimitRanges (docs/kubernetes-quota.md), kept by watches.
  std::unique_ptr<kubernetes::NamespaceQuotaCache> quota_cache;
  kubernetes::ManifestOptions manifests;  // for namespaceFor()
  bool oci_runtime = false;          // images with a root filesystem can run (local runtime)
  std::string limits_not_enforced;  // why not, or empty

  runtime::Runtime& active() {
    return cluster ? static_cast<runtime::Runtime&>(*cluster) : static_cast<runtime::Runtime&>(*local);
  }
};

Result<Runtimes> startLocalRuntime(boost::asio::io_context& io, const daemon::Config& config,
                                   const model::StateLayout& layout) {
  const auto shim = siblingExecutable("tjf-shim");
  if (::access(shim.c_str(), X_OK) != 0) {
    return invalidArgument("cannot find the run supervisor '" + shim.string() + "' (set TJF_SHIM)");
  }
  // Resources and images (docs/resources-and-images.md): what can be enforced here is found
  // once, and said once.
  const std::string cgroup_parent =
      runtime::cgroupParentFor(std::filesystem::absolute(config.state_dir));
  runtime::CgroupSupport cgroups;
  cgroups.parent = cgroup_parent;
  cgroups.reason = "turned off in the configuration ('cgroups: false')";
  if (config.cgroups) cgroups = runtime::detectCgroups("/sys/fs/cgroup", cgroup_parent);
  std::fprintf(stderr, "tjfd: %s\n", cgroups.describe().c_str());
  const auto oci = runtime::findOciRuntime(config.oci_runtime);
  if (!config.oci_runtime.empty() && !oci) {
    return invalidArgument("cannot find the OCI runtime '" + config.oci_runtime + "' (oci_runtime)");
  }
  Runtimes made;
  made.oci_runtime = oci.has_value();
  made.limits_not_enforced = cgroups.enforced() ? std::string() : cgroups.reason;
  made.local = std::make_unique<runtime::LocalRuntime>(
      io, runtime::LocalRuntimeOptions{
              .layout = layout,
              .shim_path = shim,
              .stop_grace_seconds = config.stop_grace_seconds,
              .cgroups = cgroups,
              .pids_limit = config.pids_per_run,
              .oci = oci,
              .container_init = runtime::findContainerInit(config.container_init),
              .shared_dirs = config.shared_dirs,
              .filelog_rotate_bytes = config.logs.filelog_rotate_bytes,
              .filelog_rotate_keep = config.logs.filelog_rotate_keep});
  return made;
}

Result<Runtimes> startClusterRuntime(boost::asio::io_context& io, const daemon::Config& config,
                                     const Tools& tools) {
  kubernetes::KubernetesConfig cluster = *config.kubernetes;
  if (config.mode == daemon::Mode::kPersonal) {
    // Personal mode is one tool: watch its namespace only, and run its pods as this user.
    if (cluster.namespaces.empty()) {
      cluster.namespaces.push_back(kubernetes::namespaceFor(tools.personal_tool, cluster.manifests));
    }
    if (cluster.runs.default_uid == 0 && ::getuid() != 0) {
      cluster.runs.default_uid = ::getuid();
      cluster.runs.default_gid = ::getgid();
    }
  }
  auto access = kubernetes::clusterAccessFor(cluster);
  if (!access) return tl::unexpected(access.error());
  auto client = kubernetes::Client::create(*access);
  if (!client) return tl::unexpected(client.error());
  Runtimes made;
  made.oci_runtime = true;  // the cluster pulls and runs every image of the catalogue
  made.client = std::move(*client);
  made.cluster = std::make_unique<kubernetes::KubernetesRuntime>(
      io, *made.client, kubernetes::runtimeOptionsFor(cluster, config.state_dir));
  made.manifests = cluster.manifests;
  made.quota_cache = std::make_unique<kubernetes::NamespaceQuotaCache>(
      *made.client, kubernetes::NamespaceQuotaCacheOptions{
                        .namespaces = cluster.namespaces,
                        .watch_timeout_seconds = cluster.watch_timeout_seconds,
                        .on_error = [](const std::string& what) {
                          std::fprintf(stderr, "tjfd: warning: quotas: %s\n", what.c_str());
                        }});
  made.quota_cache->start();
  if (!config.quota.empty() || !config.tool_quotas.empty()) {
    std::fprintf(stderr, "tjfd: warning: 'quota' and 'tool_quotas' are not used with runtime: "
                         "kubernetes; the namespaces' ResourceQuota and LimitRange are\n");
  }
  std::fprintf(stderr, "tjfd: runs go to the Kubernetes cluster at %s (namespaces: %s)\n",
               made.client->access().server.c_str(),
               cluster.namespaces.empty() ? "all" : [&] {
                 std::string list;
                 for (const auto& ns : cluster.namespaces) list += (list.empty() ? "" : ", ") + ns;
                 return list;
               }().c_str());
  return made;
}

int run(const daemon::Config& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.state_dir, ec);
  if (ec) return fail("cannot create the state directory '" + config.state_dir.string() +
                      "': " + ec.message());
  const model::StateLayout layout(config.state_dir);
  if (auto ok = securePrivateFiles(layout); !ok) return fail(ok.error().message);
  std::filesystem::create_directories(layout.runsDir(), ec);

  const bool platform = config.mode == daemon::Mode::kPlatform;
  auto made_tools = makeTools(config);
  if (!made_tools) return fail(made_tools.error().message);
  const Tools& tool_set = *made_tools;
  const model::ToolDirectory& tools = *tool_set.directory;

  auto catalogue = config.images_file.empty()
                       ? Result<model::ImageCatalogue>(model::ImageCatalogue::defaults())
                       : model::ImageCatalogue::fromYamlFile(config.images_file);
  if (!catalogue) return fail(catalogue.error().message);
  if (!config.images_file.empty() && config.default_images) {
    // The operator's file extends the defaults (docs/load-and-dump.md, "Images").
    catalogue = model::ImageCatalogue::merged(std::move(*catalogue),
                                              model::ImageCatalogue::defaults());
  }

  SystemClock clock;
  auto store = store::Store::open(layout.database());
  if (!store) return fail(store.error().message);
  if (auto ok = securePrivateFiles(layout); !ok) return fail(ok.error().message);  // -wal, -shm
  service::EnvvarService envvars(
      **store, clock,
      {.max_per_tool = static_cast<std::size_t>(config.platform.envvars_per_tool),
       .max_value_bytes = static_cast<std::size_t>(config.platform.envvar_value_bytes)});

  boost::asio::io_context io(1);
  auto quota_config = service::quotaConfigFrom(config.quota, config.tool_quotas);
  if (!quota_config) return fail("configuration: " + quota_config.error().message);
  const bool on_cluster = config.runtime == daemon::RuntimeKind::kKubernetes;
  auto made_runtime = on_cluster ? startClusterRuntime(io, config, tool_set)
                                 : startLocalRuntime(io, config, layout);
  if (!made_runtime) return fail(made_runtime.error().message);
  Runtimes& runtimes = *made_runtime;
  // On a cluster, the namespace's ResourceQuota is the running quota: the engine admits nothing
  // itself (docs/kubernetes.md).
  std::function<engine::ToolQuota(const std::string&)> running_quota;
  if (!on_cluster) running_quota = [&](const std::string& t) { return quota_config->forTool(t); };
  engine::Engine engine(io, **store, runtimes.active(), clock,
                        {.images = &*catalogue,
                         .tools = &tools,
                         .defaults = config.defaults,
                         .retry = {.base = Millis(config.retry_backoff_ms),
                                   .cap = std::max(Millis(config.retry_backoff_ms),
                                                   Millis(360'000))},
                         .drop_privileges = platform,
                         .supervision = {.restart_base = Millis(config.restart_backoff_ms)},
                         .quota = running_quota,
                         .tool_env = [&](const std::string& t) { return envvars.environment(t); }});
  // Before recovery: the notifier's first start takes the events recorded so far as history.
  auto email = startEmail(io, **store, clock, tools, layout, config.email);
  if (!email) return fail("email notifications: " + email.error().message);
  // The cluster's watches start before recovery: adoptions are answered from their first lists.
  if (runtimes.cluster) runtimes.cluster->startWatching();
  if (auto ok = engine.recover(); !ok) return fail("recovery failed: " + ok.error().message);

  // Log retention (docs/logs.md): each tool's limits on the log store, enforced on a timer.
  service::LogRetention log_retention(
      io, **store, clock,
      {.layout = layout,
       .policy = {.max_bytes = static_cast<std::uint64_t>(std::max<std::int64_t>(
                      0, config.logs.retention_bytes)),
                  .max_age = std::chrono::seconds(
                      static_cast<std::int64_t>(config.logs.retention_days * 86400))},
       .interval = Millis(static_cast<std::int64_t>(config.logs.retention_interval_seconds * 1000))});
  log_retention.start();
  std::function<Result<service::ClusterQuota>(const std::string&)> cluster_quota;
  if (runtimes.quota_cache) {
    cluster_quota = [&runtimes](const std::string& tool) -> Result<service::ClusterQuota> {
      const std::string ns = kubernetes::namespaceFor(tool, runtimes.manifests);
      auto figures = kubernetes::figuresOf(ns, runtimes.quota_cache->lookup(ns));
      if (!figures) return tl::unexpected(figures.error());
      return clusterQuotaFrom(*figures);
    };
  }
  service::QuotaService quotas(
      **store, engine,
      {.quotas = *quota_config,
       .oci_runtime = runtimes.oci_runtime,
       .limits_not_enforced = runtimes.limits_not_enforced,
       .logs = &log_retention,
       .cluster_quota = cluster_quota});
  service::JobService jobs(**store, engine, clock,
                           {.images = &*catalogue, .tools = &tools, .defaults = config.defaults,
                            .quotas = &quotas});
  api::Api api(io, jobs, clock,
               {.layout = layout, .envvars = &envvars, .log_files_owned_by_tool = platform});
  api::HttpServer server(io, api, makeAuthenticator(tool_set, platform));
  auto socket_options = socketOptions(config);
  if (!socket_options) return fail(socket_options.error().message);
  if (auto ok = server.listenUnix(config.socket, *socket_options); !ok) {
    return fail(ok.error().message);
  }
  if (platform) {
    // Every tool must be able to reach the socket: say so when a directory on the way is closed.
    for (auto dir = config.socket.parent_path(); !dir.empty() && dir != dir.root_path();
         dir = dir.parent_path()) {
      struct stat st {};
      if (::stat(dir.c_str(), &st) == 0 && (st.st_mode & 0011) == 0) {
        std::fprintf(stderr, "tjfd: warning: tools cannot reach the socket %s: %s is mode %04o\n",
                     config.socket.c_str(), dir.c_str(), st.st_mode & 07777);
        break;
      }
    }
  }
  std::shared_ptr<api::TlsContext> tls;
  if (config.platform.tls()) {
    auto made = api::TlsContext::create({.certificate = config.platform.tls_cert,
                                         .private_key = config.platform.tls_key,
                                         .client_ca = config.platform.tls_client_ca,
                                         .crl = config.platform.tls_crl});
    if (!made) return fail("TLS: " + made.error().message);
    tls = std::move(*made);
    if (!config.listen) {
      std::fprintf(stderr, "tjfd: warning: tls_cert is set but nothing listens on TCP (listen)\n");
    }
  }
  if (config.listen) {
    const auto colon = config.listen->rfind(':');
    if (colon == std::string::npos) return fail("--listen needs HOST:PORT");
    if (platform && !tls) {
      return fail("in platform mode, listen needs TLS (tls_cert, tls_key, tls_client_ca): a TCP "
                  "client must show its tool's certificate");
    }
    std::string host = config.listen->substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
      host = host.substr(1, host.size() - 2);
    }
    const auto port_number = static_cast<unsigned short>(std::stoi(config.listen->substr(colon + 1)));
    auto port = tls ? server.listenTls(host, port_number, tls) : server.listenTcp(host, port_number);
    if (!port) return fail(port.error().message);
    std::fprintf(stderr, "tjfd: listening on %s:%u%s\n", host.c_str(), *port,
                 tls ? " (TLS, client certificates)" : "");
  }

  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    std::fprintf(stderr, "tjfd: signal %d, shutting down (running jobs keep running)\n", sig);
    server.stop();
    io.stop();
  });
  ::signal(SIGPIPE, SIG_IGN);

  {
    std::ofstream pid_file(layout.root() / "tjfd.pid");
    pid_file << ::getpid() << "\n";
  }
  std::fprintf(stderr, "tjfd: %s, state %s, listening on %s\n",
               tool_set.description.c_str(), config.state_dir.c_str(), config.socket.c_str());
  io.run();
  std::filesystem::remove(layout.root() / "tjfd.pid", ec);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"tjfd: the Toolforge jobs framework daemon", "tjfd"};
  daemon::ConfigOverrides flags;
  app.add_option("--config", flags.config_file, "configuration file (TJF_CONFIG)");
  app.add_option("--state-dir", flags.state_dir, "state directory (TJF_STATE_DIR)");
  app.add_option("--socket", flags.socket, "API socket path (TJF_SOCKET)");
  app.add_option("--tool", flags.tool, "personal mode: the tool name (TJF_TOOL)");
  app.add_option("--tool-home", flags.tool_home, "personal mode: the tool home (TJF_TOOL_HOME)");
  app.add_option("--listen", flags.listen, "also serve HTTP on HOST:PORT (TJF_LISTEN)");
  app.add_option("--images", flags.images, "image catalogue YAML file (TJF_IMAGES)");
  app.set_version_flag("--version", std::string("tjfd 0.1.0"));
  CLI11_PARSE(app, argc, argv);
  auto config = daemon::loadConfig(flags);
  if (!config) return fail(config.error().message);
  return run(*config);
}
