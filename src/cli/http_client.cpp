#include "cli/http_client.hpp"

#include <curl/curl.h>

#include <unistd.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>

#include "model/state_paths.hpp"

namespace tjf::cli {
namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

std::size_t appendBody(char* data, std::size_t size, std::size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

std::size_t forwardBody(char* data, std::size_t size, std::size_t n, void* user) {
  (*static_cast<const std::function<void(std::string_view)>*>(user))(
      std::string_view(data, size * n));
  return size * n;
}

}  // namespace

// -- platform mode (docs/platform-mode.md): TLS client certificates, the platform socket --
namespace {

Endpoint withClientCertificate(Endpoint endpoint) {
  if (endpoint.url.rfind("https://", 0) != 0) return endpoint;
  const auto home = env("HOME");
  auto pick = [&](const char* variable, const char* file) -> std::string {
    if (auto v = env(variable)) return *v;
    if (!home) return "";
    const std::string path = *home + "/.toolskube/" + file;
    return ::access(path.c_str(), R_OK) == 0 ? path : "";
  };
  endpoint.client_cert = pick("TJF_CLIENT_CERT", "client.crt");
  endpoint.client_key = pick("TJF_CLIENT_KEY", "client.key");
  endpoint.ca_file = env("TJF_CA_FILE").value_or("");
  return endpoint;
}

void setTlsOptions(CURL* curl, const Endpoint& endpoint) {
  if (!endpoint.client_cert.empty()) curl_easy_setopt(curl, CURLOPT_SSLCERT, endpoint.client_cert.c_str());
  if (!endpoint.client_key.empty()) curl_easy_setopt(curl, CURLOPT_SSLKEY, endpoint.client_key.c_str());
  if (!endpoint.ca_file.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, endpoint.ca_file.c_str());
}

}  // namespace

Endpoint discoverEndpoint(const std::optional<std::string>& socket_flag,
                          const std::optional<std::string>& url_flag) {
  if (socket_flag) return {*socket_flag, ""};
  if (auto s = env("TJF_SOCKET")) return {*s, ""};
  if (url_flag) return withClientCertificate({"", *url_flag});
  if (auto u = env("TJF_URL")) return withClientCertificate({"", *u});
  if (auto dir = env("TJF_STATE_DIR")) return {*dir + "/tjfd.sock", ""};
  const auto personal = model::defaultSocketPath();
  std::error_code ec;
  if (!std::filesystem::exists(personal, ec) &&
      std::filesystem::exists(model::platformSocketPath(), ec)) {
    return {model::platformSocketPath().string(), ""};
  }
  return {personal.string(), ""};
}

HttpClient::HttpClient(Endpoint endpoint) : endpoint_(std::move(endpoint)), curl_(curl_easy_init()) {}

HttpClient::~HttpClient() { curl_easy_cleanup(static_cast<CURL*>(curl_)); }

std::string urlEncode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<HttpReply> HttpClient::request(const std::string& method, const std::string& path,
                                      const std::string& body) {
  CURL* curl = static_cast<CURL*>(curl_);
  if (!curl) return internalError("cannot initialise libcurl");
  curl_easy_reset(curl);
  HttpReply reply;
  const std::string base = endpoint_.url.empty() ? "http://localhost" : endpoint_.url;
  const std::string url = base + path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  if (endpoint_.url.empty()) curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, endpoint_.socket_path.c_str());
  setTlsOptions(curl, endpoint_);
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_slist* headers = nullptr;
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  headers = curl_slist_append(headers, "Expect:");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, appendBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &reply.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  const CURLcode rc = curl_easy_perform(curl);
  curl_slist_free_all(headers);
  if (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST) {
    const std::string where = endpoint_.url.empty() ? "socket '" + endpoint_.socket_path + "'"
                                                    : "'" + endpoint_.url + "'";
    return makeError(ErrorCode::kUnavailable,
                     "cannot reach tjfd on " + where +
                         ": is it running? Start it with `tjfd &` (see the README), or point to "
                         "it with --socket or TJF_SOCKET");
  }
  if (rc != CURLE_OK) {
    return makeError(ErrorCode::kUnavailable,
                     std::string("request to tjfd failed: ") + curl_easy_strerror(rc));
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &reply.status);
  return reply;
}

Result<long> HttpClient::stream(const std::string& path,
                                const std::function<void(std::string_view)>& on_data) {
  CURL* curl = static_cast<CURL*>(curl_);
  curl_easy_reset(curl);
  const std::string base = endpoint_.url.empty() ? "http://localhost" : endpoint_.url;
  const std::string url = base + path;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  if (endpoint_.url.empty()) curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, endpoint_.socket_path.c_str());
  setTlsOptions(curl, endpoint_);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, forwardBody);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &on_data);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  const CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) {
    return makeError(ErrorCode::kUnavailable,
                     std::string("cannot read from tjfd: ") + curl_easy_strerror(rc));
  }
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  return status;
}

}  // namespace tjf::cli
