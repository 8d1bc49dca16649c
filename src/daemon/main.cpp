// tjfd: the jobs daemon. Runs in the foreground; the README's start command puts it in the
// background. SIGTERM or SIGINT stop it gracefully; running jobs keep running (their shims are
// re-adopted by the next start).
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
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

  auto store = store::Store::open(layout.database());
  if (!store) return fail(store.error().message);

  boost::asio::io_context io(1);
  SystemClock clock;
  const auto shim = siblingExecutable("tjf-shim");
  if (::access(shim.c_str(), X_OK) != 0) {
    return fail("cannot find the run supervisor '" + shim.string() + "' (set TJF_SHIM)");
  }
  runtime::LocalRuntime local(io, {.layout = layout,
                                   .shim_path = shim,
                                   .stop_grace_seconds = config.stop_grace_seconds});
  engine::Engine engine(io, **store, local, clock,
                        {.images = &*catalogue,
                         .tools = &tools,
                         .defaults = config.defaults,
                         .retry = {.base = Millis(config.retry_backoff_ms),
                                   .cap = std::max(Millis(config.retry_backoff_ms),
                                                   Millis(360'000))}});
  if (auto ok = engine.recover(); !ok) return fail("recovery failed: " + ok.error().message);

  service::JobService jobs(**store, engine, clock,
                           {.images = &*catalogue, .tools = &tools, .defaults = config.defaults});
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
