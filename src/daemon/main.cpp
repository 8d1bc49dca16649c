// tjfd: the jobs daemon. Runs in the foreground; the README's start command puts it in the
// background. SIGTERM or SIGINT stop it gracefully; running jobs keep running (their shims are
// re-adopted by the next start).
#include <fcntl.h>
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
#include "daemon/config.hpp"
#include "engine/engine.hpp"
#include "model/images.hpp"
#include "model/state_paths.hpp"
#include "model/tool.hpp"
#include "notify/notifier.hpp"
#include "notify/smtp.hpp"
#include "runtime/local_runtime.hpp"
#include "service/job_service.hpp"
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

int run(const daemon::Config& config) {
  std::error_code ec;
  std::filesystem::create_directories(config.state_dir, ec);
  if (ec) return fail("cannot create the state directory '" + config.state_dir.string() +
                      "': " + ec.message());
  ::chmod(config.state_dir.c_str(), 0700);
  const model::StateLayout layout(config.state_dir);
  std::filesystem::create_directories(layout.runsDir(), ec);

  if (config.mode == daemon::Mode::kPlatform) {
    return fail("platform mode is not available in this build yet; run in personal mode");
  }
  auto tool = model::personalTool(config.tool, config.tool_home.string());
  if (!tool) return fail(tool.error().message);
  const model::SingleToolDirectory tools(*tool);

  auto catalogue = config.images_file.empty()
                       ? Result<model::ImageCatalogue>(model::ImageCatalogue::defaults())
                       : model::ImageCatalogue::fromYamlFile(config.images_file);
  if (!catalogue) return fail(catalogue.error().message);
  if (!config.images_file.empty() && config.default_images) {
    // The operator's file extends the defaults (docs/load-and-dump.md, "Images").
    catalogue = model::ImageCatalogue::merged(std::move(*catalogue),
                                              model::ImageCatalogue::defaults());
  }

  auto store = store::Store::open(layout.database());
  if (!store) return fail(store.error().message);

  boost::asio::io_context io(1);
  SystemClock clock;
  const auto shim = siblingExecutable("tjf-shim");
  if (::access(shim.c_str(), X_OK) != 0) {
    return fail("cannot find the run supervisor '" + shim.string() + "' (set TJF_SHIM)");
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
  auto quota_config = service::quotaConfigFrom(config.quota, config.tool_quotas);
  if (!quota_config) return fail("configuration: " + quota_config.error().message);
  const auto oci = runtime::findOciRuntime(config.oci_runtime);
  if (!config.oci_runtime.empty() && !oci) {
    return fail("cannot find the OCI runtime '" + config.oci_runtime + "' (oci_runtime)");
  }
  runtime::LocalRuntime local(io, {.layout = layout,
                                   .shim_path = shim,
                                   .stop_grace_seconds = config.stop_grace_seconds,
                                   .cgroups = cgroups,
                                   .pids_limit = config.pids_per_run,
                                   .oci = oci,
                                   .container_init = runtime::findContainerInit(config.container_init),
                                   .shared_dirs = config.shared_dirs});
  engine::Engine engine(io, **store, local, clock,
                        {.images = &*catalogue,
                         .tools = &tools,
                         .defaults = config.defaults,
                         .retry = {.base = Millis(config.retry_backoff_ms),
                                   .cap = std::max(Millis(config.retry_backoff_ms),
                                                   Millis(360'000))},
                         .supervision = {.restart_base = Millis(config.restart_backoff_ms)},
                         .quota = [&](const std::string& t) { return quota_config->forTool(t); }});
  // Before recovery: the notifier's first start takes the events recorded so far as history.
  auto email = startEmail(io, **store, clock, tools, layout, config.email);
  if (!email) return fail("email notifications: " + email.error().message);
  if (auto ok = engine.recover(); !ok) return fail("recovery failed: " + ok.error().message);

  service::QuotaService quotas(
      **store, engine,
      {.quotas = *quota_config,
       .oci_runtime = oci.has_value(),
       .limits_not_enforced = cgroups.enforced() ? std::string() : cgroups.reason});
  service::JobService jobs(**store, engine, clock,
                           {.images = &*catalogue, .tools = &tools, .defaults = config.defaults,
                            .quotas = &quotas});
  api::Api api(io, jobs, clock, {.layout = layout});
  const std::string tool_name = tool->name;
  api::HttpServer server(io, api, [tool_name](const std::optional<api::PeerCredentials>&) {
    // Personal mode: whoever can open the 0600 socket is the owner, and so the tool.
    return api::Identity{tool_name};
  });
  if (auto ok = server.listenUnix(config.socket); !ok) return fail(ok.error().message);
  if (config.listen) {
    const auto colon = config.listen->rfind(':');
    if (colon == std::string::npos) return fail("--listen needs HOST:PORT");
    auto port = server.listenTcp(config.listen->substr(0, colon),
                                 static_cast<unsigned short>(std::stoi(config.listen->substr(colon + 1))));
    if (!port) return fail(port.error().message);
    std::fprintf(stderr, "tjfd: listening on %s:%u\n", config.listen->substr(0, colon).c_str(),
                 *port);
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
  std::fprintf(stderr, "tjfd: tool '%s' (home %s), state %s, listening on %s\n",
               tool->name.c_str(), tool->home.c_str(), config.state_dir.c_str(),
               config.socket.c_str());
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
