#include "stages/sinks/http/http_transport.h"

#include <curl/curl.h>

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace nf2 {
namespace {

using Clock = std::chrono::steady_clock;

struct Transfer {
  uint64_t tag = 0;
  curl_slist* headers = nullptr;
  std::string body;
  std::string retry_after;
  size_t max_body = 0;
  Clock::time_point started;
};

size_t CollectBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * nmemb;
  if (t->body.size() < t->max_body) t->body.append(data, std::min(n, t->max_body - t->body.size()));
  return n;
}

size_t CollectHeader(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  absl::string_view line(data, size * nmemb);
  if (absl::StartsWithIgnoreCase(line, "retry-after:")) {
    t->retry_after = std::string(absl::StripAsciiWhitespace(line.substr(12)));
  }
  return size * nmemb;
}

long Millis(absl::Duration d) { return static_cast<long>(absl::ToInt64Milliseconds(d)); }

}  // namespace

struct HttpTransport::Impl {
  HttpTransportOptions options;
  std::string auth_header;
  CURLM* multi = nullptr;
  std::map<CURL*, std::unique_ptr<Transfer>> active;
  std::vector<CURL*> idle;

  CURL* TakeHandle();
  void SetOptions(CURL* easy, Transfer* t, std::string_view body) const;
  void Release(CURL* easy, Transfer* t, bool keep_handle);
};

CURL* HttpTransport::Impl::TakeHandle() {
  if (idle.empty()) return curl_easy_init();
  CURL* easy = idle.back();
  idle.pop_back();
  curl_easy_reset(easy);
  return easy;
}

void HttpTransport::Impl::SetOptions(CURL* easy, Transfer* t, std::string_view body) const {
  curl_easy_setopt(easy, CURLOPT_URL, options.url.c_str());
  curl_easy_setopt(easy, CURLOPT_POST, 1L);
  curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, CollectBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, t);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, CollectHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, t);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, Millis(options.timeout));
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, Millis(options.connect_timeout));
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
}

void HttpTransport::Impl::Release(CURL* easy, Transfer* t, bool keep_handle) {
  curl_multi_remove_handle(multi, easy);
  curl_slist_free_all(t->headers);
  t->headers = nullptr;
  if (keep_handle) {
    idle.push_back(easy);  // its connection stays open for the next POST
  } else {
    curl_easy_cleanup(easy);
  }
}

HttpTransport::HttpTransport(HttpTransportOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->auth_header = "Authorization: Bearer " + impl_->options.key;
  impl_->multi = curl_multi_init();
  const auto connections = static_cast<long>(impl_->options.max_connections);
  curl_multi_setopt(impl_->multi, CURLMOPT_MAX_HOST_CONNECTIONS, connections);
  curl_multi_setopt(impl_->multi, CURLMOPT_MAXCONNECTS, connections);
}

HttpTransport::~HttpTransport() {
  AbortAll();
  for (CURL* easy : impl_->idle) curl_easy_cleanup(easy);
  curl_multi_cleanup(impl_->multi);
  // The key is a secret: do not leave it in freed memory longer than needed.
  std::fill(impl_->auth_header.begin(), impl_->auth_header.end(), '\0');
  std::fill(impl_->options.key.begin(), impl_->options.key.end(), '\0');
}

void HttpTransport::Post(uint64_t tag, std::string_view body,
                         const std::vector<std::string>& headers) {
  auto t = std::make_unique<Transfer>();
  t->tag = tag;
  t->max_body = impl_->options.max_answer_bytes;
  t->started = Clock::now();
  t->headers = curl_slist_append(t->headers, impl_->auth_header.c_str());
  t->headers = curl_slist_append(t->headers, "Content-Type: application/json");
  for (const std::string& h : headers) t->headers = curl_slist_append(t->headers, h.c_str());
  t->headers = curl_slist_append(t->headers, "Expect:");  // no 100-continue round trip
  CURL* easy = impl_->TakeHandle();
  impl_->SetOptions(easy, t.get(), body);
  curl_multi_add_handle(impl_->multi, easy);
  impl_->active.emplace(easy, std::move(t));
}

size_t HttpTransport::active() const { return impl_->active.size(); }

void HttpTransport::Collect(std::vector<HttpAnswer>* done) {
  int running = 0;
  curl_multi_perform(impl_->multi, &running);
  int left = 0;
  while (CURLMsg* msg = curl_multi_info_read(impl_->multi, &left)) {
    if (msg->msg != CURLMSG_DONE) continue;
    auto it = impl_->active.find(msg->easy_handle);
    if (it == impl_->active.end()) continue;
    std::unique_ptr<Transfer> t = std::move(it->second);
    impl_->active.erase(it);
    HttpAnswer answer;
    answer.tag = t->tag;
    answer.took = Clock::now() - t->started;
    if (msg->data.result == CURLE_OK) {
      curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &answer.status);
      answer.body = std::move(t->body);
      answer.retry_after = std::move(t->retry_after);
    } else {
      answer.body = curl_easy_strerror(msg->data.result);
    }
    impl_->Release(msg->easy_handle, t.get(), /*keep_handle=*/true);
    done->push_back(std::move(answer));
  }
}

void HttpTransport::Wait(std::chrono::milliseconds wait) {
  const int ms = static_cast<int>(std::max<int64_t>(wait.count(), 0));
  curl_multi_poll(impl_->multi, nullptr, 0, ms, nullptr);
}

void HttpTransport::Wake() { curl_multi_wakeup(impl_->multi); }

std::vector<uint64_t> HttpTransport::AbortAll() {
  std::vector<uint64_t> tags;
  for (auto& [easy, t] : impl_->active) {
    impl_->Release(easy, t.get(), /*keep_handle=*/false);
    tags.push_back(t->tag);
  }
  impl_->active.clear();
  return tags;
}

namespace {
size_t Discard(char*, size_t size, size_t nmemb, void*) { return size * nmemb; }
}  // namespace

absl::Status CheckApiHealth(const std::string& api, const std::string& key,
                            absl::Duration timeout) {
  CURL* easy = curl_easy_init();
  const std::string auth = "Authorization: Bearer " + key;
  curl_slist* headers = curl_slist_append(nullptr, auth.c_str());
  const std::string url = api + "/v1/health";
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, Discard);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, Millis(timeout));
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  const CURLcode rc = curl_easy_perform(easy);
  long status = 0;
  if (rc == CURLE_OK) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(easy);
  if (rc != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat(url, ": ", curl_easy_strerror(rc)));
  }
  if (status == 401 || status == 403) {
    return absl::PermissionDeniedError(absl::StrCat("the API refused the key (HTTP ", status,
                                                    " from ", url, "); check KEY / --key-file"));
  }
  if (status < 200 || status >= 300) {
    return absl::UnavailableError(absl::StrCat(url, " answered HTTP ", status));
  }
  return absl::OkStatus();
}

}  // namespace nf2
