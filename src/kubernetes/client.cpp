#include "kubernetes/client.hpp"

#include <curl/curl.h>

#include <fstream>
#include <mutex>
#include <sstream>

namespace tjf::kubernetes {
namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlHandle = std::unique_ptr<CURL, CurlDeleter>;
using HeaderList = std::unique_ptr<curl_slist, SlistDeleter>;

void globalInit() {
  // curl_global_init is not thread-safe; every Client goes through here first.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool isUnreserved(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_' || c == '.' || c == '~';
}

std::string trimmed(std::string s) {
  const auto end = s.find_last_not_of(" \n\r\t");
  s.erase(end == std::string::npos ? 0 : end + 1);
  return s;
}

// The apiserver's Status body, or the raw body when it is not one.
ApiError errorFromBody(long http_status, const std::string& body) {
  ApiError error{static_cast<int>(http_status), "", ""};
  const json status = json::parse(body, nullptr, false);
  if (status.is_object() && status.value("kind", "") == "Status") {
    error.reason = status.value("reason", "");
    error.message = status.value("message", "");
  }
  if (error.message.empty()) {
    error.message = "HTTP " + std::to_string(http_status) + (body.empty() ? "" : ": " + body.substr(0, 300));
  }
  return error;
}

void addQuery(std::string* query, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  *query += query->empty() ? '?' : '&';
  *query += std::string(key) + "=" + urlEncode(value);
}

}  // namespace

Error ApiError::toError() const {
  ErrorCode code = ErrorCode::kInternal;
  switch (http_status) {
    case 0: code = ErrorCode::kUnavailable; break;
    case 400: code = ErrorCode::kInvalidArgument; break;
    case 401:
    case 403: code = ErrorCode::kForbidden; break;
    case 404: code = ErrorCode::kNotFound; break;
    case 409: code = reason == "AlreadyExists" ? ErrorCode::kAlreadyExists : ErrorCode::kFailedPrecondition; break;
    case 410: code = ErrorCode::kFailedPrecondition; break;
    case 422: code = ErrorCode::kUnprocessable; break;
    default: code = http_status == 429 || http_status >= 500 ? ErrorCode::kUnavailable : ErrorCode::kInternal;
  }
  return Error{code, message};
}

std::string resourcePath(std::string_view group_version, std::string_view resource,
                         std::string_view ns, std::string_view name, std::string_view subresource) {
  std::string path = group_version == "v1" ? "/api/v1" : "/apis/" + std::string(group_version);
  if (!ns.empty()) path += "/namespaces/" + std::string(ns);
  path += "/" + std::string(resource);
  if (!name.empty()) path += "/" + std::string(name);
  if (!subresource.empty()) path += "/" + std::string(subresource);
  return path;
}

std::string urlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    if (isUnreserved(c)) {
      out += c;
    } else {
      const auto u = static_cast<unsigned char>(c);
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string_view toString(Propagation p) {
  switch (p) {
    case Propagation::kBackground: return "Background";
    case Propagation::kForeground: return "Foreground";
    case Propagation::kOrphan: return "Orphan";
  }
  return "Background";
}

struct Client::Request {
  std::string method = "GET";
  std::string target;  // path and query
  std::string body;
  std::string content_type;
  bool streaming = false;
  long low_speed_seconds = 0;  // streams: abort a connection silent for this long
};

Result<std::unique_ptr<Client>> Client::create(ClusterAccess access, ClientOptions options) {
  globalInit();
  if (access.server.rfind("https://", 0) != 0 && access.server.rfind("http://", 0) != 0) {
    return invalidArgument("The Kubernetes API server '" + access.server + "' is not an http(s) URL");
  }
  while (!access.server.empty() && access.server.back() == '/') access.server.pop_back();
  for (const auto* file : {&access.ca_file, &access.client_cert_file, &access.client_key_file,
                           &access.token_file}) {
    if (!file->empty() && !std::ifstream(*file)) {
      return invalidArgument("Cannot read the Kubernetes credential file '" + *file + "'");
    }
  }
  return std::unique_ptr<Client>(new Client(std::move(access), std::move(options)));
}

namespace {

struct Transfer {
  std::string body;  // non-streaming body, or an error body of a stream
  std::string pending;  // a stream's partial line
  CURL* curl = nullptr;
  const std::function<bool(std::string_view)>* on_line = nullptr;
  const std::atomic<bool>* cancel = nullptr;
  bool stopped = false;  // on_line asked to stop
  bool error_status = false;
  bool checked_status = false;
};

size_t onData(char* data, size_t size, size_t count, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * count;
  if (!t->on_line) {
    t->body.append(data, n);
    return n;
  }
  if (!t->checked_status) {
    long status = 0;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
    t->error_status = status >= 300;
    t->checked_status = true;
  }
  if (t->error_status) {
    t->body.append(data, n);
    return n;
  }
  t->pending.append(data, n);
  std::size_t start = 0;
  for (auto nl = t->pending.find('\n'); nl != std::string::npos; nl = t->pending.find('\n', start)) {
    const std::string_view line(t->pending.data() + start, nl - start);
    start = nl + 1;
    if (!(*t->on_line)(line)) {
      t->stopped = true;
      return 0;  // makes curl abort the transfer
    }
  }
  t->pending.erase(0, start);
  return n;
}

int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  const auto* t = static_cast<Transfer*>(user);
  return t->cancel && t->cancel->load() ? 1 : 0;
}

}  // namespace

// Shared by call() and stream(): one curl handle configured for `request`.
static ApiResult<void> perform(const ClusterAccess& access, const ClientOptions& options,
                               const std::string& method, const std::string& target,
                               const std::string& body, const std::string& content_type,
                               bool streaming, long low_speed_seconds, Transfer* transfer,
                               long* http_status) {
  CurlHandle curl(curl_easy_init());
  if (!curl) return tl::unexpected(ApiError{0, "Transport", "cannot create a curl handle"});
  CURL* c = curl.get();
  transfer->curl = c;
  char errbuf[CURL_ERROR_SIZE] = {0};
  const std::string url = access.server + target;
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  // HTTP/1.1 keeps watch framing to plain chunked encoding, which any proxy and test fake speak.
  curl_easy_setopt(c, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_1_1);
  curl_easy_setopt(c, CURLOPT_USERAGENT, options.user_agent.c_str());
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options.connect_timeout.count()));
  curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
  if (!streaming) {
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(options.request_timeout.count()));
  } else if (low_speed_seconds > 0) {
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, low_speed_seconds);
  }
  if (method == "POST") {
    curl_easy_setopt(c, CURLOPT_POST, 1L);
  } else if (method != "GET") {
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  if (!body.empty() || method == "POST" || method == "PUT" || method == "PATCH") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }

  // TLS: a CA file or PEM, and a client certificate and key as files or PEM blobs.
  curl_blob ca{}, cert{}, key{};
  if (!access.ca_pem.empty()) {
    ca = curl_blob{const_cast<char*>(access.ca_pem.data()), access.ca_pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &ca);
  } else if (!access.ca_file.empty()) {
    curl_easy_setopt(c, CURLOPT_CAINFO, access.ca_file.c_str());
  }
  if (access.insecure_skip_tls_verify) {
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (!access.client_cert_pem.empty()) {
    cert = curl_blob{const_cast<char*>(access.client_cert_pem.data()), access.client_cert_pem.size(),
                     CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_SSLCERT_BLOB, &cert);
    curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
  } else if (!access.client_cert_file.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLCERT, access.client_cert_file.c_str());
  }
  if (!access.client_key_pem.empty()) {
    key = curl_blob{const_cast<char*>(access.client_key_pem.data()), access.client_key_pem.size(),
                    CURL_BLOB_COPY};
    curl_easy_setopt(c, CURLOPT_SSLKEY_BLOB, &key);
    curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
  } else if (!access.client_key_file.empty()) {
    curl_easy_setopt(c, CURLOPT_SSLKEY, access.client_key_file.c_str());
  }

  curl_slist* raw_headers = nullptr;
  raw_headers = curl_slist_append(raw_headers, streaming && target.find("/log") != std::string::npos
                                                   ? "Accept: */*"
                                                   : "Accept: application/json");
  if (!content_type.empty()) {
    raw_headers = curl_slist_append(raw_headers, ("Content-Type: " + content_type).c_str());
  }
  std::string token = access.token;
  if (!access.token_file.empty()) {
    std::ifstream in(access.token_file);
    std::stringstream s;
    s << in.rdbuf();
    token = trimmed(s.str());
  }
  if (!token.empty()) {
    raw_headers = curl_slist_append(raw_headers, ("Authorization: Bearer " + token).c_str());
  }
  HeaderList headers(raw_headers);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, onData);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, transfer);
  if (transfer->cancel) {
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, onProgress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, transfer);
  }

  const CURLcode rc = curl_easy_perform(c);
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http_status);
  if (rc == CURLE_WRITE_ERROR && transfer->stopped) return {};
  if (rc == CURLE_ABORTED_BY_CALLBACK) return {};
  if (rc != CURLE_OK) {
    return tl::unexpected(ApiError{0, "Transport",
                                   "cannot reach the Kubernetes API server '" + access.server +
                                       "' (" + method + " " + target + "): " +
                                       (errbuf[0] ? errbuf : curl_easy_strerror(rc))});
  }
  return {};
}

ApiResult<json> Client::call(const Request& request) {
  Transfer transfer;
  long status = 0;
  auto ok = perform(access_, options_, request.method, request.target, request.body,
                    request.content_type, false, 0, &transfer, &status);
  if (!ok) return tl::unexpected(ok.error());
  if (status < 200 || status >= 300) return tl::unexpected(errorFromBody(status, transfer.body));
  if (transfer.body.empty()) return json::object();
  json parsed = json::parse(transfer.body, nullptr, false);
  if (parsed.is_discarded()) {
    return tl::unexpected(ApiError{static_cast<int>(status), "BadResponse",
                                   "the Kubernetes API server sent a response that is not JSON (" +
                                       request.method + " " + request.target + ")"});
  }
  return parsed;
}

ApiResult<void> Client::stream(const Request& request,
                               const std::function<bool(std::string_view)>& on_line,
                               const std::atomic<bool>* cancel) {
  Transfer transfer;
  transfer.on_line = &on_line;
  transfer.cancel = cancel;
  long status = 0;
  auto ok = perform(access_, options_, request.method, request.target, request.body,
                    request.content_type, true, request.low_speed_seconds, &transfer, &status);
  if (!ok) return ok;
  if (transfer.error_status || status >= 300) return tl::unexpected(errorFromBody(status, transfer.body));
  // A final line without a newline (a log that ends mid-line).
  if (!transfer.stopped && !transfer.pending.empty() && !(cancel && cancel->load())) {
    on_line(transfer.pending);
  }
  return {};
}

ApiResult<json> Client::get(const std::string& path) { return call({.target = path}); }

ApiResult<json> Client::list(const std::string& collection, const ListOptions& options) {
  std::string query;
  addQuery(&query, "labelSelector", options.label_selector);
  addQuery(&query, "fieldSelector", options.field_selector);
  addQuery(&query, "resourceVersion", options.resource_version);
  if (options.limit > 0) addQuery(&query, "limit", std::to_string(options.limit));
  addQuery(&query, "continue", options.continue_token);
  return call({.target = collection + query});
}

ApiResult<json> Client::create(const std::string& collection, const json& object) {
  return call({.method = "POST", .target = collection, .body = object.dump(),
               .content_type = "application/json"});
}

ApiResult<json> Client::replace(const std::string& path, const json& object) {
  return call({.method = "PUT", .target = path, .body = object.dump(),
               .content_type = "application/json"});
}

ApiResult<json> Client::patch(const std::string& path, const json& body,
                              std::string_view content_type, std::string_view field_manager) {
  std::string query;
  addQuery(&query, "fieldManager", field_manager);
  return call({.method = "PATCH", .target = path + query, .body = body.dump(),
               .content_type = std::string(content_type)});
}

ApiResult<json> Client::remove(const std::string& path, Propagation propagation) {
  const json options = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"},
                        {"propagationPolicy", toString(propagation)}};
  return call({.method = "DELETE", .target = path, .body = options.dump(),
               .content_type = "application/json"});
}

ApiResult<json> Client::removeCollection(const std::string& collection,
                                         const std::string& label_selector,
                                         Propagation propagation) {
  std::string query;
  addQuery(&query, "labelSelector", label_selector);
  const json options = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"},
                        {"propagationPolicy", toString(propagation)}};
  return call({.method = "DELETE", .target = collection + query, .body = options.dump(),
               .content_type = "application/json"});
}

ApiResult<void> Client::watch(const std::string& collection, const WatchOptions& options,
                              const std::function<bool(const WatchEvent&)>& on_event,
                              const std::atomic<bool>* cancel) {
  std::string query = "?watch=true";
  addQuery(&query, "labelSelector", options.label_selector);
  addQuery(&query, "fieldSelector", options.field_selector);
  addQuery(&query, "resourceVersion", options.resource_version);
  if (options.allow_bookmarks) addQuery(&query, "allowWatchBookmarks", "true");
  if (options.timeout_seconds > 0) addQuery(&query, "timeoutSeconds", std::to_string(options.timeout_seconds));
  std::optional<ApiError> event_error;
  const std::function<bool(std::string_view)> on_line = [&](std::string_view line) {
    if (line.find_first_not_of(" \r\t") == std::string_view::npos) return true;
    json parsed = json::parse(line, nullptr, false);
    if (!parsed.is_object() || !parsed.contains("type")) {
      event_error = ApiError{0, "BadResponse", "the Kubernetes API server sent a watch event that is not JSON"};
      return false;
    }
    WatchEvent event{parsed["type"].get<std::string>(), std::move(parsed["object"])};
    if (event.type == "ERROR") {
      const json& status = event.object;
      event_error = ApiError{status.value("code", 500), status.value("reason", ""),
                             status.value("message", "watch error")};
      return false;
    }
    return on_event(event);
  };
  // Silence for the server's own timeout plus a margin means a dead connection.
  const long low_speed = options.timeout_seconds > 0 ? options.timeout_seconds + 30 : 0;
  auto result = stream({.target = collection + query, .streaming = true, .low_speed_seconds = low_speed},
                       on_line, cancel);
  if (event_error) return tl::unexpected(*event_error);
  return result;
}

ApiResult<void> Client::streamLog(const std::string& ns, const std::string& pod,
                                  const LogOptions& options,
                                  const std::function<bool(std::string_view)>& on_line,
                                  const std::atomic<bool>* cancel) {
  std::string query;
  addQuery(&query, "container", options.container);
  if (options.follow) addQuery(&query, "follow", "true");
  if (options.timestamps) addQuery(&query, "timestamps", "true");
  if (options.tail_lines) addQuery(&query, "tailLines", std::to_string(*options.tail_lines));
  if (options.since_time) addQuery(&query, "sinceTime", *options.since_time);
  // No low-speed limit: a quiet job legitimately prints nothing for hours; TCP keepalive and
  // `cancel` end a dead stream instead.
  return stream({.target = resourcePath("v1", "pods", ns, pod, "log") + query, .streaming = true},
                on_line, cancel);
}

}  // namespace tjf::kubernetes
