// Who a job belongs to: the tool's name, home and Unix identity.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace tjf::model {

struct Tool {
  std::string name;
  std::filesystem::path home;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;
};

// Finds a tool by name. Personal mode has one tool; platform mode looks up Unix accounts.
class ToolDirectory {
 public:
  virtual ~ToolDirectory() = default;
  virtual Result<Tool> find(const std::string& name) const = 0;
};

class SingleToolDirectory final : public ToolDirectory {
 public:
  explicit SingleToolDirectory(Tool tool) : tool_(std::move(tool)) {}
  Result<Tool> find(const std::string& name) const override {
    if (name != tool_.name) return notFound("Tool '" + name + "' does not exist");
    return tool_;
  }
  const Tool& tool() const { return tool_; }

 private:
  Tool tool_;
};

// Personal mode: the daemon's own user. `name` and `home` override the defaults (the user name
// made valid under the job-name rules, and $HOME).
Result<Tool> personalTool(const std::string& name_override, const std::string& home_override);

}  // namespace tjf::model
