#include "notify/smtp.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <mutex>

namespace tjf::notify {
namespace {

using EasyHandle = std::unique_ptr<CURL, decltype(&curl_easy_cleanup)>;
using StringList = std::unique_ptr<curl_slist, decltype(&curl_slist_free_all)>;

struct Upload {
  const std::string* data = nullptr;
  std::size_t offset = 0;
};

std::size_t readUpload(char* buffer, std::size_t size, std::size_t count, void* user) {
  auto* upload = static_cast<Upload*>(user);
  const std::size_t n = std::min(size * count, upload->data->size() - upload->offset);
  std::memcpy(buffer, upload->data->data() + upload->offset, n);
  upload->offset += n;
  return n;
}

// libcurl calls this about once a second and on every bit of progress: the way to abandon a
// delivery when the daemon stops.
int onProgress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return static_cast<const std::atomic<bool>*>(user)->load() ? 1 : 0;
}

bool startsWith(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

Status checkSmtpOptions(const SmtpOptions& o) {
  const bool plain = startsWith(o.url, "smtp://");
  const bool tls = startsWith(o.url, "smtps://");
  if (!plain && !tls) {
    return invalidArgument("smtp_url '" + o.url + "' must start with smtp:// or smtps://");
  }
  if (o.starttls && !plain) {
    return invalidArgument("smtp_starttls is for smtp:// URLs; smtps:// '" + o.url +
                           "' is TLS from the start");
  }
  if (!o.user.empty() && o.password.empty()) {
    return invalidArgument("smtp_user '" + o.user + "' needs smtp_password_file");
  }
  return {};
}

Result<std::string> readPasswordFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalidArgument("cannot read smtp_password_file '" + path.string() + "'");
  std::string line;
  std::getline(in, line);
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) {
    return invalidArgument("smtp_password_file '" + path.string() + "' is empty");
  }
  return line;
}

Result<std::unique_ptr<CurlSmtpTransport>> CurlSmtpTransport::create(SmtpOptions options) {
  if (auto ok = checkSmtpOptions(options); !ok) return tl::unexpected(ok.error());
  static std::once_flag once;
  CURLcode init = CURLE_OK;
  std::call_once(once, [&] { init = curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (init != CURLE_OK) {
    return internalError(std::string("cannot initialise libcurl: ") + curl_easy_strerror(init));
  }
  return std::unique_ptr<CurlSmtpTransport>(new CurlSmtpTransport(std::move(options)));
}

SendResult CurlSmtpTransport::send(const OutgoingMail& mail, const std::atomic<bool>& cancel) {
  SendResult result;
  EasyHandle easy(curl_easy_init(), &curl_easy_cleanup);
  if (!easy) {
    result.error = "cannot create a libcurl handle";
    return result;
  }
  CURL* h = easy.get();
  StringList recipients(curl_slist_append(nullptr, ("<" + mail.recipient + ">").c_str()),
                        &curl_slist_free_all);
  Upload upload{&mail.message, 0};
  char error_buffer[CURL_ERROR_SIZE] = {0};
  const std::string from = "<" + mail.sender + ">";

  curl_easy_setopt(h, CURLOPT_URL, options_.url.c_str());
  curl_easy_setopt(h, CURLOPT_MAIL_FROM, from.c_str());
  curl_easy_setopt(h, CURLOPT_MAIL_RCPT, recipients.get());
  curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
  curl_easy_setopt(h, CURLOPT_READFUNCTION, &readUpload);
  curl_easy_setopt(h, CURLOPT_READDATA, &upload);
  curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(mail.message.size()));
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error_buffer);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM from a worker thread
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(options_.connect_timeout.count()));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.total_timeout.count()));
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, &onProgress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &cancel);
  if (options_.starttls) curl_easy_setopt(h, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  if (!options_.ca_file.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (!options_.user.empty()) {
    curl_easy_setopt(h, CURLOPT_USERNAME, options_.user.c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, options_.password.c_str());
  }

  const CURLcode rc = curl_easy_perform(h);
  if (rc == CURLE_OK) {
    result.ok = true;
    return result;
  }
  long reply = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply);
  result.error = "SMTP delivery to '" + mail.recipient + "' through '" + options_.url +
                 "' failed: " + (error_buffer[0] ? error_buffer : curl_easy_strerror(rc));
  if (reply > 0) result.error += " (server reply " + std::to_string(reply) + ")";
  // A 5xx reply refuses this mail for good, except the replies about authentication and TLS
  // (530 "must authenticate / issue STARTTLS first", 534, 535 "credentials invalid", 538): they
  // are the operator's configuration, fixed by a restart, and the mail waits for it.
  const bool configuration =
      rc == CURLE_LOGIN_DENIED || reply == 530 || reply == 534 || reply == 535 || reply == 538;
  result.permanent = reply >= 500 && reply < 600 && !configuration;
  return result;
}

}  // namespace tjf::notify
