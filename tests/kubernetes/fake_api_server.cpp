#include "fake_api_server.hpp"

#include "kubernetes/run_mapping.hpp"  // parseKubernetesTime

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <regex>
#include <sstream>
#include <system_error>

namespace tjf::kubernetes::testing {

// A parsed request path: /api/v1[/namespaces/<ns>]/<resource>[/<name>[/<sub>]] or the same
// under /apis/<group>/<version>.
struct FakeApiServer::Target {
  std::string group_version;
  std::string ns;
  std::string resource;
  std::string name;
  std::string subresource;
  std::string collection() const { return group_version + "/" + resource; }
  std::string collectionPath() const {
    std::string p = group_version == "v1" ? "/api/v1" : "/apis/" + group_version;
    if (!ns.empty()) p += "/namespaces/" + ns;
    return p + "/" + resource;
  }
  std::string objectPath() const { return collectionPath() + "/" + name; }
};

namespace {

// Runs an admission hook with the server's lock released (hooks may call back into the server),
// as the real API server runs its webhooks outside storage; nullopt: admitted or no hook.
template <typename Hook, typename... Args>
std::optional<Refusal> admitUnlocked(std::unique_lock<std::mutex>& lock, const Hook& hook,
                                     Args&&... args) {
  if (!hook) return std::nullopt;
  lock.unlock();
  auto refusal = hook(std::forward<Args>(args)...);
  lock.lock();
  return refusal;
}

// Whether the object stored at `path` belongs to the collection `t` names (all namespaces when
// `t` has none).
bool inCollection(const std::string& path, const FakeApiServer::Target& t) {
  if (!t.ns.empty()) return path.rfind(t.collectionPath() + "/", 0) == 0;
  const std::string base = (t.group_version == "v1" ? "/api/v1" : "/apis/" + t.group_version) + "/namespaces/";
  if (path.rfind(base, 0) != 0) return false;
  const auto ns_end = path.find('/', base.size());
  return ns_end != std::string::npos && path.compare(ns_end + 1, t.resource.size() + 1, t.resource + "/") == 0;
}

}  // namespace

namespace {

std::vector<std::string> splitPath(const std::string& path) {
  std::vector<std::string> parts;
  std::stringstream s(path);
  std::string part;
  while (std::getline(s, part, '/')) {
    if (!part.empty()) parts.push_back(part);
  }
  return parts;
}

std::string urlDecode(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else if (s[i] == '+') {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

bool sendAll(int fd, const std::string& data) {
  std::size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

std::string statusText(int code) {
  switch (code) {
    case 200: return "OK";
    case 201: return "Created";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 415: return "Unsupported Media Type";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 422: return "Unprocessable Entity";
    default: return "Error";
  }
}

void respond(int fd, int code, const json& body) {
  const std::string text = body.dump();
  sendAll(fd, "HTTP/1.1 " + std::to_string(code) + " " + statusText(code) +
                  "\r\nContent-Type: application/json\r\nContent-Length: " +
                  std::to_string(text.size()) + "\r\nConnection: close\r\n\r\n" + text);
}

bool startChunked(int fd, const std::string& content_type) {
  return sendAll(fd, "HTTP/1.1 200 OK\r\nContent-Type: " + content_type +
                         "\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n");
}

bool sendChunk(int fd, const std::string& data) {
  std::ostringstream size;
  size << std::hex << data.size();
  return sendAll(fd, size.str() + "\r\n" + data + "\r\n");
}

bool peerClosed(int fd) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  char c;
  return ::recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

bool isDns1123Subdomain(const std::string& name) {
  static const std::regex kName(R"(^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$)");
  return name.size() <= 253 && std::regex_match(name, kName);
}

// "jobs" -> "jobs.batch" as Status messages spell a resource.
std::string qualifiedResource(const std::string& group_version, const std::string& resource) {
  const auto slash = group_version.find('/');
  if (slash == std::string::npos) return resource;
  return resource + "." + group_version.substr(0, slash);
}

std::string kindOf(const std::string& resource) {
  static const std::map<std::string, std::string> kKinds = {
      {"jobs", "Job"}, {"cronjobs", "CronJob"}, {"deployments", "Deployment"}, {"pods", "Pod"},
      {"services", "Service"}, {"events", "Event"}, {"resourcequotas", "ResourceQuota"},
      {"limitranges", "LimitRange"}};
  const auto it = kKinds.find(resource);
  return it == kKinds.end() ? "Object" : it->second;
}

// Label selector requirements: k=v, k==v, k!=v, k, !k.
bool labelsMatch(const json& labels, const std::string& selector) {
  if (selector.empty()) return true;
  std::stringstream s(selector);
  std::string req;
  while (std::getline(s, req, ',')) {
    if (req.empty()) continue;
    auto has = [&](const std::string& k) { return labels.is_object() && labels.contains(k); };
    auto value = [&](const std::string& k) { return has(k) ? labels[k].get<std::string>() : std::string(); };
    if (const auto ne = req.find("!="); ne != std::string::npos) {
      if (has(req.substr(0, ne)) && value(req.substr(0, ne)) == req.substr(ne + 2)) return false;
    } else if (const auto eq = req.find('='); eq != std::string::npos) {
      const std::string key = req.substr(0, eq);
      const std::string val = req.substr(req[eq + 1] == '=' ? eq + 2 : eq + 1);
      if (!has(key) || value(key) != val) return false;
    } else if (req[0] == '!') {
      if (has(req.substr(1))) return false;
    } else if (!has(req)) {
      return false;
    }
  }
  return true;
}

// Field selectors: comma-separated dotted paths with = or ==.
bool fieldsMatch(const json& object, const std::string& selector) {
  if (selector.empty()) return true;
  std::stringstream s(selector);
  std::string req;
  while (std::getline(s, req, ',')) {
    const auto eq = req.find('=');
    if (eq == std::string::npos) return false;
    const std::string path = req.substr(0, eq);
    const std::string want = req.substr(req[eq + 1] == '=' ? eq + 2 : eq + 1);
    const json* node = &object;
    std::stringstream ps(path);
    std::string key;
    while (std::getline(ps, key, '.')) {
      if (!node->is_object() || !node->contains(key)) return false;
      node = &(*node)[key];
    }
    const std::string have = node->is_string() ? node->get<std::string>() : node->dump();
    if (have != want) return false;
  }
  return true;
}

// The target of a namespaced object path, for the test-side helpers (put, erase).
FakeApiServer::Target objectTarget(const std::string& path) {
  const auto parts = splitPath(path);
  FakeApiServer::Target t;
  const std::size_t i = parts[0] == "api" ? 2 : 3;
  t.group_version = parts[0] == "api" ? parts[1] : parts[1] + "/" + parts[2];
  t.ns = parts[i + 1];
  t.resource = parts[i + 2];
  t.name = parts[i + 3];
  return t;
}

}  // namespace

json statusBody(int code, const std::string& reason, const std::string& message) {
  return {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", json::object()},
          {"status", "Failure"}, {"message", message}, {"reason", reason}, {"code", code}};
}

FakeApiServer::FakeApiServer(int port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 64) != 0) {
    const int err = errno;
    ::close(listen_fd_);
    throw std::system_error(err, std::generic_category(),
                            "cannot listen on 127.0.0.1:" + std::to_string(port));
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { acceptLoop(); });
}

FakeApiServer::~FakeApiServer() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    for (const int fd : connections_) ::shutdown(fd, SHUT_RDWR);
  }
  changed_.notify_all();
  ::shutdown(listen_fd_, SHUT_RDWR);
  ::close(listen_fd_);
  if (acceptor_.joinable()) acceptor_.join();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
}

void FakeApiServer::acceptLoop() {
  while (!stopping_) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) return;
      continue;
    }
    // A long-lived server (tjf-fake-kube-apiserver) must not keep a thread per past request:
    // the connections that have ended are joined here.
    std::vector<std::thread> ended;
    std::unique_lock lock(mutex_);
    for (auto it = workers_.begin(); it != workers_.end();) {
      if (std::find(finished_workers_.begin(), finished_workers_.end(), it->get_id()) != finished_workers_.end()) {
        ended.push_back(std::move(*it));
        it = workers_.erase(it);
      } else {
        ++it;
      }
    }
    finished_workers_.clear();
    if (stopping_) {
      ::close(fd);
      lock.unlock();
      for (auto& t : ended) t.join();
      return;
    }
    connections_.push_back(fd);
    workers_.emplace_back([this, fd] { serve(fd); });
    lock.unlock();
    for (auto& t : ended) t.join();  // they are past their last use of the lock
  }
}

void FakeApiServer::serve(int fd) {
  std::string data;
  char buf[8192];
  std::size_t header_end = std::string::npos;
  while ((header_end = data.find("\r\n\r\n")) == std::string::npos) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    data.append(buf, static_cast<std::size_t>(n));
  }
  if (header_end != std::string::npos) {
    RecordedRequest request;
    std::stringstream head(data.substr(0, header_end));
    std::string line, target, version;
    std::getline(head, line);
    std::stringstream(line) >> request.method >> target >> version;
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      const auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(), ::tolower);
      request.headers[name] = line.substr(line.find_first_not_of(' ', colon + 1));
    }
    const std::size_t length =
        request.headers.count("content-length") ? std::stoul(request.headers["content-length"]) : 0;
    request.body = data.substr(header_end + 4);
    while (request.body.size() < length) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      request.body.append(buf, static_cast<std::size_t>(n));
    }
    const auto q = target.find('?');
    request.path = target.substr(0, q);
    if (q != std::string::npos) {
      std::stringstream qs(target.substr(q + 1));
      std::string kv;
      while (std::getline(qs, kv, '&')) {
        const auto eq = kv.find('=');
        request.query[urlDecode(kv.substr(0, eq))] =
            eq == std::string::npos ? "" : urlDecode(kv.substr(eq + 1));
      }
    }
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(request);
    }
    changed_.notify_all();
    if (!required_token_.empty() &&
        (!request.headers.count("authorization") ||
         request.headers.at("authorization") != "Bearer " + required_token_)) {
      respond(fd, 401, statusBody(401, "Unauthorized", "Unauthorized"));
    } else {
      handle(fd, request);
    }
  }
  {
    std::lock_guard lock(mutex_);
    connections_.erase(std::remove(connections_.begin(), connections_.end(), fd), connections_.end());
  }
  ::close(fd);
  std::lock_guard lock(mutex_);
  finished_workers_.push_back(std::this_thread::get_id());
}

void FakeApiServer::handle(int fd, const RecordedRequest& request) {
  // --- FakeCluster support: fake-only routes, then the non-resource endpoints a client probes.
  if (extra_route_) {
    if (auto answer = extra_route_(request)) return respond(fd, answer->first, answer->second);
  }
  if (request.method == "GET" && request.path == "/version") {
    return respond(fd, 200, {{"major", "1"}, {"minor", "29"}, {"gitVersion", "v1.29.0-tjf-fake"},
                             {"gitCommit", "0000000000000000000000000000000000000000"},
                             {"gitTreeState", "clean"}, {"buildDate", "2026-01-01T00:00:00Z"},
                             {"goVersion", "none (tjf FakeApiServer, a test fake)"},
                             {"compiler", "none"}, {"platform", "linux/amd64"}});
  }
  if (request.method == "GET" &&
      (request.path == "/healthz" || request.path == "/livez" || request.path == "/readyz")) {
    const std::string ok = "ok";
    return (void)sendAll(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
                             "Connection: close\r\n\r\n" + ok);
  }
  // --- end FakeCluster support
  const auto parts = splitPath(request.path);
  Target t;
  std::size_t i = 0;
  if (parts.size() >= 2 && parts[0] == "api") {
    t.group_version = parts[1];
    i = 2;
  } else if (parts.size() >= 3 && parts[0] == "apis") {
    t.group_version = parts[1] + "/" + parts[2];
    i = 3;
  } else {
    return respond(fd, 404, statusBody(404, "NotFound", "the server could not find the requested resource"));
  }
  if (i + 1 < parts.size() && parts[i] == "namespaces") {
    t.ns = parts[i + 1];
    i += 2;
  }
  if (i >= parts.size()) return respond(fd, 404, statusBody(404, "NotFound", "no resource"));
  t.resource = parts[i++];
  if (i < parts.size()) t.name = parts[i++];
  if (i < parts.size()) t.subresource = parts[i++];
  const std::string qualified = qualifiedResource(t.group_version, t.resource);
  auto notFound = [&] {
    respond(fd, 404, statusBody(404, "NotFound", qualified + " \"" + t.name + "\" not found"));
  };

  if (t.resource == "pods" && t.subresource == "log" && request.method == "GET") {
    return serveLog(fd, request, t.ns, t.name);
  }
  if (t.name.empty() && request.method == "GET" && request.query.count("watch") &&
      request.query.at("watch") == "true") {
    return serveWatch(fd, request, t);
  }

  if (request.method == "PATCH" && !t.name.empty()) return servePatch(fd, request, t);

  json body = request.body.empty() ? json() : json::parse(request.body, nullptr, false);
  std::unique_lock lock(mutex_);
  if (t.name.empty()) {
    if (request.method == "GET") {
      json items = json::array();
      for (const auto& [path, obj] : objects_) {
        if (inCollection(path, t) && labelsMatch(obj["metadata"].value("labels", json::object()),
                                         request.query.count("labelSelector") ? request.query.at("labelSelector") : "") &&
            fieldsMatch(obj, request.query.count("fieldSelector") ? request.query.at("fieldSelector") : "")) {
          items.push_back(obj);
        }
      }
      return respond(fd, 200, {{"kind", kindOf(t.resource) + "List"}, {"apiVersion", t.group_version},
                               {"metadata", {{"resourceVersion", std::to_string(rv_)}}},
                               {"items", items}});
    }
    if (request.method == "POST") {
      if (!body.is_object()) return respond(fd, 400, statusBody(400, "BadRequest", "the body is not a JSON object"));
      const std::string name = body.value("/metadata/name"_json_pointer, "");
      const std::string kind = body.value("kind", kindOf(t.resource));
      if (!isDns1123Subdomain(name)) {
        return respond(fd, 422, statusBody(422, "Invalid",
            kind + "." + (t.group_version.find('/') != std::string::npos ? t.group_version.substr(0, t.group_version.find('/')) : "") +
            " \"" + name + "\" is invalid: metadata.name: Invalid value: \"" + name +
            "\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
            "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
            "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"));
      }
      t.name = name;
      if (objects_.count(t.objectPath())) {
        return respond(fd, 409, statusBody(409, "AlreadyExists", qualified + " \"" + name + "\" already exists"));
      }
      if (auto refusal = admitUnlocked(lock, mutating_admission_, request, body, json())) {
        return respond(fd, refusal->code, statusBody(refusal->code, refusal->reason, refusal->message));
      }
      if (mutating_admission_) {  // the lock was released for the hook: created meanwhile?
        if (objects_.count(t.objectPath())) {
          return respond(fd, 409, statusBody(409, "AlreadyExists", qualified + " \"" + name + "\" already exists"));
        }
      }
      if (auto refusal = admitUnlocked(lock, admission_, request, body)) {
        return respond(fd, refusal->code, statusBody(refusal->code, refusal->reason, refusal->message));
      }
      json stored = storeLocked(t.objectPath(), body, t);
      lock.unlock();
      changed_.notify_all();
      return respond(fd, 201, stored);
    }
    if (request.method == "DELETE") {
      const std::string selector = request.query.count("labelSelector") ? request.query.at("labelSelector") : "";
      json items = json::array();
      std::vector<std::string> matched;
      for (const auto& [path, obj] : objects_) {
        if (inCollection(path, t) && labelsMatch(obj["metadata"].value("labels", json::object()), selector)) {
          matched.push_back(path);
        }
      }
      for (const auto& path : matched) {
        json result;
        deleteOrMarkLocked(path, objectTarget(path), objects_.at(path), request, &result);
        items.push_back(std::move(result));
      }
      lock.unlock();
      changed_.notify_all();
      return respond(fd, 200, {{"kind", kindOf(t.resource) + "List"}, {"items", items}});
    }
    return respond(fd, 405, statusBody(405, "MethodNotAllowed", "method not allowed"));
  }

  const std::string path = t.objectPath();
  auto found = objects_.find(path);
  if (request.method == "GET") {
    if (found == objects_.end()) return notFound();
    return respond(fd, 200, found->second);
  }
  if (request.method == "PUT") {
    if (!body.is_object()) return respond(fd, 400, statusBody(400, "BadRequest", "the body is not a JSON object"));
    if (t.subresource == "status") {
      if (found == objects_.end()) return notFound();
      found->second["status"] = body.value("status", json::object());
      found->second["metadata"]["resourceVersion"] = std::to_string(++rv_);
      emitLocked("MODIFIED", t, found->second);
      const json stored = found->second;
      lock.unlock();
      changed_.notify_all();
      return respond(fd, 200, stored);
    }
    // Services allow create-on-update; everything else must exist.
    if (found == objects_.end() && t.resource != "services") return notFound();
    const json existing = found == objects_.end() ? json() : found->second;
    if (auto refusal = admitUnlocked(lock, mutating_admission_, request, body, existing)) {
      return respond(fd, refusal->code, statusBody(refusal->code, refusal->reason, refusal->message));
    }
    if (auto refusal = admitUnlocked(lock, admission_, request, body)) {
      return respond(fd, refusal->code, statusBody(refusal->code, refusal->reason, refusal->message));
    }
    json replacement = body;
    found = objects_.find(path);
    if (found != objects_.end()) {
      // The main resource ignores status; identity fields stay.
      if (found->second.contains("status")) replacement["status"] = found->second["status"];
      else replacement.erase("status");
      replacement["metadata"]["uid"] = found->second["metadata"]["uid"];
      replacement["metadata"]["creationTimestamp"] = found->second["metadata"]["creationTimestamp"];
    }
    const bool created = found == objects_.end();
    json stored = storeLocked(path, replacement, t);
    lock.unlock();
    changed_.notify_all();
    return respond(fd, created ? 201 : 200, stored);
  }
  if (request.method == "DELETE") {
    if (found == objects_.end()) return notFound();
    json result;
    deleteOrMarkLocked(path, t, found->second, request, &result);
    lock.unlock();
    changed_.notify_all();
    return respond(fd, 200, result);
  }
  return respond(fd, 405, statusBody(405, "MethodNotAllowed", "method not allowed"));
}

json FakeApiServer::storeLocked(const std::string& path, json object, const Target& t) {
  const bool existed = objects_.count(path) > 0;
  object["metadata"]["namespace"] = t.ns;
  if (!object["metadata"].contains("uid")) {
    object["metadata"]["uid"] = "fake-uid-" + std::to_string(++uid_counter_);
  }
  if (!object["metadata"].contains("creationTimestamp")) {
    object["metadata"]["creationTimestamp"] = "2026-01-01T00:00:00Z";
  }
  object["metadata"]["resourceVersion"] = std::to_string(++rv_);
  // metadata.generation: 1 at creation, +1 whenever the spec changes (what observedGeneration
  // compares with).
  if (!existed) {
    object["metadata"]["generation"] = 1;
  } else {
    const json& old = objects_.at(path);
    const long long generation = old["metadata"].value("generation", 1LL);
    const bool spec_changed = old.value("spec", json()) != object.value("spec", json());
    object["metadata"]["generation"] = spec_changed ? generation + 1 : generation;
  }
  if (!object.contains("kind")) object["kind"] = kindOf(t.resource);
  if (!object.contains("apiVersion")) object["apiVersion"] = t.group_version;
  objects_[path] = object;
  emitLocked(existed ? "MODIFIED" : "ADDED", t, object);
  return object;
}

void FakeApiServer::emitLocked(const std::string& type, const Target& t, const json& object) {
  long long rv = rv_;
  if (type == "DELETED") rv = ++rv_;
  json copy = object;
  copy["metadata"]["resourceVersion"] = std::to_string(rv);
  // A delete-collection across namespaces has no namespace in its target: take the object's.
  Target where = t;
  if (where.ns.empty()) where.ns = object.value("/metadata/namespace"_json_pointer, std::string());
  where.name = object.value("/metadata/name"_json_pointer, std::string());
  for (const auto& hook : change_hooks_) hook(type, where.objectPath(), copy);
  events_.push_back(Event{rv, type, where.collection(), where.ns, std::move(copy)});
}

// A client's DELETE of one stored object: the deletion hook may keep it, marked (graceful pod
// deletion, foreground or orphan propagation); else it goes now. `result` is what the reply shows.
std::string FakeApiServer::deleteOrMarkLocked(const std::string& path, const Target& t, const json& object,
                                              const RecordedRequest& request, json* result) {
  std::string propagation = request.query.count("propagationPolicy") ? request.query.at("propagationPolicy") : "";
  std::optional<long long> grace;
  if (request.query.count("gracePeriodSeconds")) grace = std::stoll(request.query.at("gracePeriodSeconds"));
  const json options = request.body.empty() ? json() : json::parse(request.body, nullptr, false);
  if (options.is_object()) {
    propagation = options.value("propagationPolicy", propagation);
    if (options.contains("gracePeriodSeconds") && options["gracePeriodSeconds"].is_number()) {
      grace = options["gracePeriodSeconds"].get<long long>();
    }
  }
  std::optional<json> keep = deletion_hook_ ? deletion_hook_(path, object, propagation, grace) : std::nullopt;
  if (keep) {
    if (*keep != object) *result = storeLocked(path, *keep, t);
    else *result = object;
    return "MODIFIED";
  }
  *result = object;
  objects_.erase(path);
  emitLocked("DELETED", t, *result);
  return "DELETED";
}

bool FakeApiServer::matchesLocked(const json& object, const RecordedRequest& request) const {
  const auto labels = object.value("/metadata/labels"_json_pointer, json::object());
  return labelsMatch(labels, request.query.count("labelSelector") ? request.query.at("labelSelector") : "") &&
         fieldsMatch(object, request.query.count("fieldSelector") ? request.query.at("fieldSelector") : "");
}

void FakeApiServer::serveWatch(int fd, const RecordedRequest& request, const Target& t) {
  const std::string rv_text = request.query.count("resourceVersion") ? request.query.at("resourceVersion") : "";
  const bool bookmarks = request.query.count("allowWatchBookmarks") && request.query.at("allowWatchBookmarks") == "true";
  const int timeout = request.query.count("timeoutSeconds") ? std::stoi(request.query.at("timeoutSeconds")) : 1800;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
  if (!startChunked(fd, "application/json")) return;
  auto line = [](const std::string& type, const json& object) {
    return json{{"type", type}, {"object", object}}.dump() + "\n";
  };
  std::unique_lock lock(mutex_);
  ++open_watches_;
  const long long generation = watch_generation_;
  long long from = 0;
  std::size_t next = events_.size();
  if (rv_text.empty() || rv_text == "0") {
    // No version: the current state as ADDED events, then what happens next.
    for (const auto& [path, obj] : objects_) {
      if (inCollection(path, t) && matchesLocked(obj, request)) {
        const std::string text = line("ADDED", obj);
        lock.unlock();
        const bool ok = sendChunk(fd, text);
        lock.lock();
        if (!ok) { --open_watches_; return; }
      }
    }
    from = rv_;
  } else {
    from = std::stoll(rv_text);
    if (from < compacted_rv_) {
      const std::string text = line("ERROR", statusBody(410, "Expired",
          "too old resource version: " + rv_text + " (" + std::to_string(compacted_rv_) + ")"));
      --open_watches_;
      lock.unlock();
      sendChunk(fd, text);
      sendChunk(fd, "");
      return;
    }
    next = 0;
  }
  bool alive = true;
  long long bookmark_seen = from;
  while (alive && !stopping_ && watch_generation_ == generation &&
         std::chrono::steady_clock::now() < deadline) {
    for (; next < events_.size(); ++next) {
      const Event& e = events_[next];
      if (e.rv <= from) continue;
      const bool in = e.collection == t.collection() && (t.ns.empty() || e.ns == t.ns);
      if (e.type == "BOOKMARK") {
        if (!bookmarks || e.rv <= bookmark_seen) continue;
        bookmark_seen = e.rv;
      } else if (!in || !matchesLocked(e.object, request)) {
        continue;
      }
      const std::string text = line(e.type, e.object);
      lock.unlock();
      alive = sendChunk(fd, text);
      lock.lock();
      if (!alive) break;
    }
    if (!alive) break;
    changed_.wait_for(lock, std::chrono::milliseconds(100));
    // Server-side check for a client that went away (the watch would otherwise linger).
    lock.unlock();
    alive = !peerClosed(fd);
    lock.lock();
  }
  --open_watches_;
  lock.unlock();
  changed_.notify_all();
  if (alive) sendChunk(fd, "");
}

void FakeApiServer::serveLog(int fd, const RecordedRequest& request, const std::string& ns,
                             const std::string& pod) {
  const std::string key = ns + "/" + pod;
  auto param = [&](const char* name) {
    return request.query.count(name) ? request.query.at(name) : std::string();
  };
  {
    std::lock_guard lock(mutex_);
    const auto found = objects_.find("/api/v1/namespaces/" + ns + "/pods/" + pod);
    if (found == objects_.end()) {
      return respond(fd, 404, statusBody(404, "NotFound", "pods \"" + pod + "\" not found"));
    }
    // A container the pod does not have is refused as the apiserver does.
    const std::string container = param("container");
    const json containers = found->second.value("/spec/containers"_json_pointer, json::array());
    if (!container.empty() && !containers.empty() &&
        std::none_of(containers.begin(), containers.end(),
                     [&](const json& c) { return c.value("name", "") == container; })) {
      return respond(fd, 400, statusBody(400, "BadRequest", "container " + container +
                                                                 " is not valid for pod " + pod));
    }
  }
  const bool follow = param("follow") == "true";
  const bool timestamps = param("timestamps") == "true";
  const bool previous = param("previous") == "true";
  // sinceTime (RFC 3339) or sinceSeconds: only lines at or after that time.
  std::optional<TimePoint> since;
  if (!param("sinceTime").empty()) since = parseKubernetesTime(param("sinceTime"));
  if (!param("sinceSeconds").empty()) {
    since = std::chrono::system_clock::now() - std::chrono::seconds(std::stoll(param("sinceSeconds")));
  }
  if (!startChunked(fd, "text/plain")) return;
  std::size_t sent = 0;
  std::unique_lock lock(mutex_);
  const long long generation = logs_[key].generation;
  auto lines = [&]() -> const std::vector<std::pair<std::string, std::string>>& {
    return previous ? logs_[key].previous : logs_[key].lines;
  };
  if (!param("tailLines").empty()) {
    const std::size_t tail = std::stoul(param("tailLines"));
    const std::size_t have = lines().size();
    sent = have > tail ? have - tail : 0;
  }
  while (!stopping_) {
    // The container restarted: this stream was the old container's.
    if (logs_[key].generation != generation) break;
    while (sent < lines().size()) {
      const auto [ts, text] = lines()[sent++];
      if (since) {
        const auto at = parseKubernetesTime(ts);
        if (at && *at < *since) continue;
      }
      const std::string out = (timestamps ? ts + " " : "") + text + "\n";
      lock.unlock();
      const bool ok = sendChunk(fd, out);
      lock.lock();
      if (!ok) return;
    }
    if (!follow || previous || logs_[key].closed) break;
    changed_.wait_for(lock, std::chrono::milliseconds(100));
    lock.unlock();
    const bool gone = peerClosed(fd);
    lock.lock();
    if (gone) return;
  }
  lock.unlock();
  sendChunk(fd, "");
}

// PATCH of an object or its status: merge-patch, strategic-merge-patch (as a merge patch: lists
// are replaced, not merged by key), json-patch, and apply-patch (server-side apply, as
// create-or-merge-patch; the body must be the JSON form of YAML, which is what tjf's client sends).
void FakeApiServer::servePatch(int fd, const RecordedRequest& request, const Target& t) {
  std::string type = request.headers.count("content-type") ? request.headers.at("content-type") : "";
  type = type.substr(0, type.find(';'));
  const json patch = json::parse(request.body, nullptr, false);
  if (patch.is_discarded()) {
    return respond(fd, 400, statusBody(400, "BadRequest",
                                       "the fake API server takes PATCH bodies in JSON form only"));
  }
  const bool apply = type == "application/apply-patch+yaml";
  const bool merge = apply || type == "application/merge-patch+json" ||
                     type == "application/strategic-merge-patch+json";
  if (!merge && type != "application/json-patch+json") {
    return respond(fd, 415, statusBody(415, "UnsupportedMediaType",
                                       "the body of the request was in an unknown format - accepted media types "
                                       "include: application/json-patch+json, application/merge-patch+json, "
                                       "application/apply-patch+yaml"));
  }
  const std::string qualified = qualifiedResource(t.group_version, t.resource);
  const std::string path = t.objectPath();
  std::unique_lock lock(mutex_);
  auto found = objects_.find(path);
  const bool create = found == objects_.end();
  if (create && !(apply && t.subresource.empty())) {
    return respond(fd, 404, statusBody(404, "NotFound", qualified + " \"" + t.name + "\" not found"));
  }
  const json existing = create ? json() : found->second;
  json patched = create ? json::object() : existing;
  try {
    if (merge) patched.merge_patch(patch);
    else patched = patched.patch(patch);
  } catch (const json::exception& e) {
    return respond(fd, 422, statusBody(422, "Invalid", "cannot apply the patch to " + qualified + " \"" +
                                                           t.name + "\": " + e.what()));
  }
  if (!patched.is_object()) patched = json::object();
  if (t.subresource == "status") {
    found->second["status"] = patched.value("status", json::object());
    found->second["metadata"]["resourceVersion"] = std::to_string(++rv_);
    emitLocked("MODIFIED", t, found->second);
    const json stored = found->second;
    lock.unlock();
    changed_.notify_all();
    return respond(fd, 200, stored);
  }
  // The main resource keeps its status and identity.
  patched["metadata"]["name"] = t.name;
  if (!create) {
    if (existing.contains("status")) patched["status"] = existing["status"];
    else patched.erase("status");
    patched["metadata"]["uid"] = existing["metadata"]["uid"];
    patched["metadata"]["creationTimestamp"] = existing["metadata"]["creationTimestamp"];
  }
  if (auto refusal = admitUnlocked(lock, mutating_admission_, request, patched, existing)) {
    return respond(fd, refusal->code, statusBody(refusal->code, refusal->reason, refusal->message));
  }
  if (auto refusal = admitUnlocked(lock, admission_, request, patched)) {
    return respond(fd, refusal->code, statusBody(refusal->code, refusal->reason, refusal->message));
  }
  const json stored = storeLocked(path, patched, t);
  lock.unlock();
  changed_.notify_all();
  return respond(fd, create ? 201 : 200, stored);
}

json FakeApiServer::put(const std::string& path, json object) {
  const Target t = objectTarget(path);
  object["metadata"]["name"] = t.name;
  json stored;
  {
    std::lock_guard lock(mutex_);
    auto found = objects_.find(path);
    if (found != objects_.end()) {
      object["metadata"]["uid"] = found->second["metadata"]["uid"];
      object["metadata"]["creationTimestamp"] = found->second["metadata"]["creationTimestamp"];
    }
    stored = storeLocked(path, std::move(object), t);
  }
  changed_.notify_all();
  return stored;
}

bool FakeApiServer::setStatus(const std::string& path, const json& status) {
  std::optional<json> current = object(path);
  if (!current) return false;
  (*current)["status"] = status;
  put(path, *current);
  return true;
}

bool FakeApiServer::erase(const std::string& path) {
  const Target t = objectTarget(path);
  {
    std::lock_guard lock(mutex_);
    auto found = objects_.find(path);
    if (found == objects_.end()) return false;
    json gone = found->second;
    objects_.erase(found);
    emitLocked("DELETED", t, gone);
  }
  changed_.notify_all();
  return true;
}

std::optional<json> FakeApiServer::object(const std::string& path) const {
  std::lock_guard lock(mutex_);
  auto found = objects_.find(path);
  if (found == objects_.end()) return std::nullopt;
  return found->second;
}

std::vector<json> FakeApiServer::objects(const std::string& prefix) const {
  std::lock_guard lock(mutex_);
  std::vector<json> out;
  for (const auto& [path, obj] : objects_) {
    if (path.rfind(prefix, 0) == 0) out.push_back(obj);
  }
  return out;
}

void FakeApiServer::compact() {
  std::lock_guard lock(mutex_);
  compacted_rv_ = rv_;
  events_.clear();
}

void FakeApiServer::bookmark() {
  {
    std::lock_guard lock(mutex_);
    ++rv_;
    events_.push_back(Event{rv_, "BOOKMARK", "", "",
                            {{"kind", "Bookmark"}, {"metadata", {{"resourceVersion", std::to_string(rv_)}}}}});
  }
  changed_.notify_all();
}

void FakeApiServer::endWatches() {
  {
    std::lock_guard lock(mutex_);
    ++watch_generation_;
  }
  changed_.notify_all();
}

std::string FakeApiServer::resourceVersion() const {
  std::lock_guard lock(mutex_);
  return std::to_string(rv_);
}

void FakeApiServer::appendLog(const std::string& ns, const std::string& pod, const std::string& line,
                              const std::string& timestamp) {
  {
    std::lock_guard lock(mutex_);
    logs_[ns + "/" + pod].lines.emplace_back(timestamp, line);
  }
  changed_.notify_all();
}

void FakeApiServer::closeLog(const std::string& ns, const std::string& pod) {
  {
    std::lock_guard lock(mutex_);
    logs_[ns + "/" + pod].closed = true;
  }
  changed_.notify_all();
}

void FakeApiServer::setAdmission(
    std::function<std::optional<Refusal>(const RecordedRequest&, const json&)> hook) {
  std::lock_guard lock(mutex_);
  admission_ = std::move(hook);
}

std::vector<RecordedRequest> FakeApiServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

bool FakeApiServer::waitForRequest(const std::function<bool(const RecordedRequest&)>& predicate,
                                   std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] {
    return std::any_of(requests_.begin(), requests_.end(), predicate);
  });
}

bool FakeApiServer::waitFor(const std::function<bool()>& predicate, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mutex_);
  while (true) {
    lock.unlock();
    const bool ok = predicate();
    lock.lock();
    if (ok) return true;
    if (changed_.wait_until(lock, std::min(deadline, std::chrono::steady_clock::now() +
                                                          std::chrono::milliseconds(50))) ==
            std::cv_status::timeout &&
        std::chrono::steady_clock::now() >= deadline) {
      return false;
    }
  }
}

int FakeApiServer::openWatches() const {
  std::lock_guard lock(mutex_);
  return open_watches_;
}

// --- FakeCluster support

void FakeApiServer::addChangeHook(ChangeHook hook) {
  std::lock_guard lock(mutex_);
  change_hooks_.push_back(std::move(hook));
}

void FakeApiServer::setDeletionHook(DeletionHook hook) {
  std::lock_guard lock(mutex_);
  deletion_hook_ = std::move(hook);
}

void FakeApiServer::setMutatingAdmission(MutatingAdmission hook) {
  std::lock_guard lock(mutex_);
  mutating_admission_ = std::move(hook);
}

void FakeApiServer::setExtraRoute(ExtraRoute route) {
  std::lock_guard lock(mutex_);
  extra_route_ = std::move(route);
}

void FakeApiServer::setRequiredToken(std::string token) {
  std::lock_guard lock(mutex_);
  required_token_ = std::move(token);
}

bool FakeApiServer::update(const std::string& path, const std::function<bool(json& object)>& mutate) {
  {
    std::lock_guard lock(mutex_);
    auto found = objects_.find(path);
    if (found == objects_.end()) return false;
    json copy = found->second;
    if (!mutate(copy) || copy == found->second) return false;
    storeLocked(path, std::move(copy), objectTarget(path));
  }
  changed_.notify_all();
  return true;
}

void FakeApiServer::restartLog(const std::string& ns, const std::string& pod) {
  {
    std::lock_guard lock(mutex_);
    Log& log = logs_[ns + "/" + pod];
    log.previous = std::move(log.lines);
    log.lines.clear();
    log.closed = false;
    ++log.generation;
  }
  changed_.notify_all();
}

}  // namespace tjf::kubernetes::testing
