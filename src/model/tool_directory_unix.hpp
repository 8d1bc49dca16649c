// Platform mode's tools: each tool is a Unix account "<prefix>.<tool>" (decisions.md, "Product"),
// found through the C library's passwd and group databases (files, LDAP through NSS, ...).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "base/clock.hpp"
#include "base/result.hpp"
#include "model/tool.hpp"

namespace tjf::model {

struct UnixToolDirectoryOptions {
  // Accounts are "<prefix>.<tool>"; an empty prefix makes the account name the tool name.
  std::string prefix = "tools";
  // The tool home: empty takes the account's home from passwd; otherwise an absolute path in
  // which "{tool}" stands for the tool name, such as "/data/project/{tool}".
  std::string home_template;
  // How long an answer of the account databases is kept (they may be remote: LDAP); a tool that
  // is not found is asked again after `negative_ttl`, so a new account works soon.
  std::chrono::milliseconds ttl{30'000};
  std::chrono::milliseconds negative_ttl{2'000};
  const Clock* clock = nullptr;  // null: the system clock (tests pass a ManualClock)
};

// Thread-safe (one mutex around the cache): the loop thread and helper threads may ask.
class UnixToolDirectory final : public ToolDirectory {
 public:
  // Checks the options: the prefix must be empty or a valid name segment, the template absolute
  // and containing "{tool}".
  static Result<std::unique_ptr<UnixToolDirectory>> create(UnixToolDirectoryOptions options);

  // The tool of that name: kNotFound when there is no such account, kFailedPrecondition when the
  // account cannot be a tool (uid 0, no home directory). The result carries uid, primary gid,
  // every group of the account (getgrouplist) and the home.
  Result<Tool> find(const std::string& name) const override;
  // The tool whose account has this uid (peer credentials): kNotFound when the uid has no account
  // or its account is not "<prefix>.<name>".
  Result<Tool> findByUid(uid_t uid) const;

  // "<prefix>.<tool>" (or the tool itself without a prefix).
  std::string accountName(const std::string& tool) const;
  const UnixToolDirectoryOptions& options() const { return options_; }

 private:
  explicit UnixToolDirectory(UnixToolDirectoryOptions options);
  Result<Tool> lookUp(const std::string& name) const;
  Result<std::string> toolOfUid(uid_t uid) const;
  TimePoint now() const;

  template <typename T>
  struct Cached {
    TimePoint expires{};
    Result<T> value;
  };

  UnixToolDirectoryOptions options_;
  SystemClock system_clock_;
  mutable std::mutex mutex_;
  mutable std::map<std::string, Cached<Tool>> by_name_;  // GUARDED_BY(mutex_)
  mutable std::map<uid_t, Cached<std::string>> by_uid_;  // GUARDED_BY(mutex_)
};

// Expands a home template for one tool ("/data/project/{tool}" -> "/data/project/mytool").
std::string expandHomeTemplate(const std::string& home_template, const std::string& tool);

}  // namespace tjf::model
