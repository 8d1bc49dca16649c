#include "model/tool.hpp"

#include <pwd.h>
#include <unistd.h>

#include <cstdlib>

#include "model/names.hpp"

namespace tjf::model {

Result<Tool> personalTool(const std::string& name_override, const std::string& home_override) {
  Tool tool;
  tool.uid = ::getuid();
  tool.gid = ::getgid();
  std::string user;
  std::string passwd_home;
  if (const passwd* pw = ::getpwuid(tool.uid)) {
    user = pw->pw_name;
    passwd_home = pw->pw_dir;
  }
  if (user.empty()) user = "uid" + std::to_string(tool.uid);
  tool.name = name_override.empty() ? toolNameFromUser(user) : name_override;
  if (auto valid = validateJobName(tool.name); !valid) {
    return invalidArgument("Invalid tool name '" + tool.name +
                           "': it must follow the job naming rules");
  }
  const char* env_home = std::getenv("HOME");
  tool.home = !home_override.empty() ? home_override
              : (env_home && *env_home) ? std::string(env_home)
                                        : passwd_home;
  if (tool.home.empty() || !tool.home.is_absolute()) {
    return invalidArgument("The tool home '" + tool.home.string() + "' is not an absolute path");
  }
  std::error_code ec;
  if (!std::filesystem::is_directory(tool.home, ec)) {
    return invalidArgument("The tool home '" + tool.home.string() + "' is not a directory");
  }
  return tool;
}

}  // namespace tjf::model
