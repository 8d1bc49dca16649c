#include "model/tool_directory_unix.hpp"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <optional>
#include <vector>

#include "model/names.hpp"

namespace tjf::model {
namespace {

// getpwnam_r/getpwuid_r with a buffer that grows on ERANGE. nullopt: no such account; an error:
// the database could not be read (an LDAP server down), which must not read as "no such tool".
struct Account {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
};

template <typename Lookup>
Result<std::optional<Account>> readAccount(const std::string& what, Lookup lookup) {
  std::vector<char> buffer(4096);
  while (true) {
    passwd entry{};
    passwd* found = nullptr;
    const int rc = lookup(&entry, buffer.data(), buffer.size(), &found);
    if (rc == ERANGE && buffer.size() < (1u << 20)) {
      buffer.resize(buffer.size() * 2);
      continue;
    }
    // ENOENT, ESRCH, EBADF and EPERM all mean "not found" for getpw*_r (see its manual page).
    if (rc != 0 && rc != ENOENT && rc != ESRCH && rc != EBADF && rc != EPERM) {
      return systemError("look up the account of " + what, rc);
    }
    if (!found) return std::optional<Account>();
    return std::optional<Account>(Account{found->pw_name, found->pw_uid, found->pw_gid,
                                          found->pw_dir ? found->pw_dir : ""});
  }
}

std::vector<gid_t> groupsOf(const Account& account) {
  int count = 32;
  std::vector<gid_t> groups(static_cast<std::size_t>(count));
  while (::getgrouplist(account.name.c_str(), account.gid, groups.data(), &count) < 0) {
    // `count` now holds the number needed.
    groups.resize(static_cast<std::size_t>(count));
  }
  groups.resize(static_cast<std::size_t>(count));
  return groups;
}

}  // namespace

std::string expandHomeTemplate(const std::string& home_template, const std::string& tool) {
  static constexpr std::string_view kTool = "{tool}";
  std::string out;
  std::size_t start = 0;
  while (true) {
    const auto at = home_template.find(kTool, start);
    out.append(home_template, start, at == std::string::npos ? std::string::npos : at - start);
    if (at == std::string::npos) return out;
    out += tool;
    start = at + kTool.size();
  }
}

Result<std::unique_ptr<UnixToolDirectory>> UnixToolDirectory::create(
    UnixToolDirectoryOptions options) {
  if (!options.prefix.empty() && !validateJobName(options.prefix)) {
    return invalidArgument("Invalid tool account prefix '" + options.prefix +
                           "': use lower-case letters, digits and '-' (for example 'tools')");
  }
  if (!options.prefix.empty() && options.prefix.find('.') != std::string::npos) {
    return invalidArgument("Invalid tool account prefix '" + options.prefix +
                           "': it must not contain '.' (accounts are '<prefix>.<tool>')");
  }
  if (!options.home_template.empty()) {
    if (options.home_template.front() != '/') {
      return invalidArgument("The tool home template '" + options.home_template +
                             "' is not an absolute path");
    }
    if (options.home_template.find("{tool}") == std::string::npos) {
      return invalidArgument("The tool home template '" + options.home_template +
                             "' does not contain '{tool}': every tool would share one home");
    }
  }
  return std::unique_ptr<UnixToolDirectory>(new UnixToolDirectory(std::move(options)));
}

UnixToolDirectory::UnixToolDirectory(UnixToolDirectoryOptions options)
    : options_(std::move(options)) {}

TimePoint UnixToolDirectory::now() const {
  return options_.clock ? options_.clock->now() : system_clock_.now();
}

std::string UnixToolDirectory::accountName(const std::string& tool) const {
  return options_.prefix.empty() ? tool : options_.prefix + "." + tool;
}

Result<Tool> UnixToolDirectory::find(const std::string& name) const {
  {
    std::lock_guard lock(mutex_);
    if (auto it = by_name_.find(name); it != by_name_.end() && now() < it->second.expires) {
      return it->second.value;
    }
  }
  // Looked up without the lock: NSS may be slow, and two threads asking twice is harmless.
  auto tool = lookUp(name);
  const bool keep = tool || tool.error().code == ErrorCode::kNotFound ||
                    tool.error().code == ErrorCode::kFailedPrecondition;
  if (keep) {  // a failure to read the database is not kept: the next call asks again
    std::lock_guard lock(mutex_);
    if (by_name_.size() > 100'000) by_name_.clear();  // bounded: names come from requests
    by_name_[name] = Cached<Tool>{now() + (tool ? options_.ttl : options_.negative_ttl), tool};
  }
  return tool;
}

Result<Tool> UnixToolDirectory::lookUp(const std::string& name) const {
  const std::string missing = "Tool '" + name + "' does not exist";
  // Names follow the job-name rules, so no account outside "<prefix>.*" (and no "..") is reachable.
  if (!validateJobName(name)) return notFound(missing);
  const std::string account_name = accountName(name);
  auto account = readAccount("tool '" + name + "'", [&](passwd* e, char* b, std::size_t n,
                                                         passwd** r) {
    return ::getpwnam_r(account_name.c_str(), e, b, n, r);
  });
  if (!account) return tl::unexpected(account.error());
  if (!*account) return notFound(missing + " (no account '" + account_name + "')");
  if ((*account)->uid == 0 || (*account)->gid == 0) {
    // A job of such a tool would run as root: refused whatever the account database says.
    return makeError(ErrorCode::kFailedPrecondition,
                     "The account '" + account_name + "' of tool '" + name +
                         "' has uid or gid 0; a tool never runs as root");
  }
  Tool tool;
  tool.name = name;
  tool.uid = (*account)->uid;
  tool.gid = (*account)->gid;
  tool.groups = groupsOf(**account);
  tool.home = options_.home_template.empty() ? (*account)->home
                                             : expandHomeTemplate(options_.home_template, name);
  std::error_code ec;
  if (!tool.home.is_absolute() || !std::filesystem::is_directory(tool.home, ec)) {
    return makeError(ErrorCode::kFailedPrecondition,
                     "The home '" + tool.home.string() + "' of tool '" + name +
                         "' is not a directory");
  }
  return tool;
}

Result<std::string> UnixToolDirectory::toolOfUid(uid_t uid) const {
  const std::string who = "uid " + std::to_string(uid);
  auto account = readAccount(who, [&](passwd* e, char* b, std::size_t n, passwd** r) {
    return ::getpwuid_r(uid, e, b, n, r);
  });
  if (!account) return tl::unexpected(account.error());
  if (!*account) return notFound(who + " has no account, so it is no tool");
  const std::string& name = (*account)->name;
  const std::string want = options_.prefix.empty() ? "" : options_.prefix + ".";
  if (name.size() <= want.size() || name.compare(0, want.size(), want) != 0) {
    return notFound("The account '" + name + "' (" + who + ") is not a tool account ('" + want +
                    "<tool>')");
  }
  return name.substr(want.size());
}

Result<Tool> UnixToolDirectory::findByUid(uid_t uid) const {
  Result<std::string> name = std::string();
  bool cached = false;
  {
    std::lock_guard lock(mutex_);
    if (auto it = by_uid_.find(uid); it != by_uid_.end() && now() < it->second.expires) {
      name = it->second.value;
      cached = true;
    }
  }
  if (!cached) {
    name = toolOfUid(uid);
    if (name || name.error().code == ErrorCode::kNotFound) {
      std::lock_guard lock(mutex_);
      if (by_uid_.size() > 100'000) by_uid_.clear();
      by_uid_[uid] = Cached<std::string>{now() + (name ? options_.ttl : options_.negative_ttl),
                                          name};
    }
  }
  if (!name) return tl::unexpected(name.error());
  auto tool = find(*name);
  if (!tool) return tool;
  // Two accounts with one uid: the name the uid maps to must map back to it.
  if (tool->uid != uid) {
    return notFound("uid " + std::to_string(uid) + " is not the uid of tool '" + *name + "'");
  }
  return tool;
}

}  // namespace tjf::model
