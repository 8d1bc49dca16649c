#include "model/state_paths.hpp"

#include <unistd.h>

#include <cstdlib>

namespace tjf::model {

std::filesystem::path defaultStateDir() {
  if (::geteuid() == 0) return "/var/lib/tjf";
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg) {
    return std::filesystem::path(xdg) / "tjf";
  }
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home && *home ? home : "/tmp") / ".local/state/tjf";
}

std::filesystem::path defaultSocketPath() {
  if (::geteuid() != 0) {
    if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg && *xdg) {
      return std::filesystem::path(xdg) / "tjf" / "tjfd.sock";
    }
  }
  return defaultStateDir() / "tjfd.sock";
}

std::filesystem::path platformSocketPath() { return "/run/tjf/tjfd.sock"; }

}  // namespace tjf::model
