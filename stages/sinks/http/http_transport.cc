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
  char error[CURL_ERROR_SIZE] = {};
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

using CurlUrl = std::unique_ptr<CURLU, decltype(&curl_url_cleanup)>;

std::string UrlPart(CURLU* u, CURLUPart part) {
  char* v = nullptr;
  if (curl_url_get(u, part, &v, CURLU_DEFAULT_PORT) != CURLUE_OK || v == nullptr) return "";
  std::string out(v);
  curl_free(v);
  return out;
}

// `url` with its host replaced by `name`, and the CONNECT_TO entry that
// still sends it to the original address: curl then uses `name` for SNI,
// certificate verification and Host, and the URL's address for the socket.
std::string RouteByServerName(const std::string& url, const std::string& name,
                              std::string* connect_to) {
  CurlUrl u(curl_url(), &curl_url_cleanup);
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return url;
  const std::string host = UrlPart(u.get(), CURLUPART_HOST);
  const std::string port = UrlPart(u.get(), CURLUPART_PORT);
  if (curl_url_set(u.get(), CURLUPART_HOST, name.c_str(), 0) != CURLUE_OK) return url;
  *connect_to = absl::StrCat(name, ":", port, ":", host, ":", port);
  const std::string routed = UrlPart(u.get(), CURLUPART_URL);
  return routed.empty() ? url : routed;
}

long CurlHttpVersion(HttpVersion v) {
  switch (v) {
    case HttpVersion::kHttp11:
      return CURL_HTTP_VERSION_1_1;
    case HttpVersion::kHttp2:
      return CURL_HTTP_VERSION_2_0;
    case HttpVersion::kAuto:
      break;
  }
  return CURL_HTTP_VERSION_2TLS;
}

// The connection settings every request and the health check share.
void ApplyConnection(CURL* easy, const HttpConnectionOptions& c, curl_slist* connect_to) {
  if (!c.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, c.ca_file.c_str());
  if (!c.client_cert.empty()) curl_easy_setopt(easy, CURLOPT_SSLCERT, c.client_cert.c_str());
  if (!c.client_key.empty()) curl_easy_setopt(easy, CURLOPT_SSLKEY, c.client_key.c_str());
  if (connect_to) curl_easy_setopt(easy, CURLOPT_CONNECT_TO, connect_to);
  if (!c.proxy.empty()) curl_easy_setopt(easy, CURLOPT_PROXY, c.proxy.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, CurlHttpVersion(c.http_version));
  // Verification stays on whatever else is set: there is no switch for it.
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 2L);
}

// What went wrong when TLS failed, for an operator; empty when `rc` is not
// a TLS failure.
std::string TlsProblem(CURLcode rc, const std::string& detail) {
  const std::string d = detail.empty() ? std::string(curl_easy_strerror(rc)) : detail;
  switch (rc) {
    case CURLE_PEER_FAILED_VERIFICATION:
      return absl::StrCat("TLS: the server's certificate is not trusted (", d,
                          "); check --ca-file / CA_FILE and --tls-server-name");
    case CURLE_SSL_CACERT_BADFILE:
      return absl::StrCat("TLS: cannot use the CA bundle (", d, "); check --ca-file / CA_FILE");
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CLIENTCERT:
      return absl::StrCat("TLS: the client certificate or key cannot be used (", d,
                          "); check --client-cert / --client-key");
    case CURLE_SSL_CONNECT_ERROR:
      if (absl::StrContains(d, "wrong version number") ||
          absl::StrContains(d, "packet length too long")) {
        return absl::StrCat("TLS: the server does not speak TLS on this port (", d,
                            "); is the API URL https:// for a plain http:// port?");
      }
      return absl::StrCat("TLS: the handshake failed (", d,
                          "); a refused client certificate, or no common protocol");
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
      if (absl::StrContains(d, "alert")) {
        return absl::StrCat("TLS: the server ended the session (", d,
                            "); a missing or refused client certificate?");
      }
      return "";
    default:
      return "";
  }
}

// nginx with ssl_verify_client answers a missing or refused client
// certificate with a 400 page rather than a failed handshake.
bool IsClientCertRefusal(long status, const std::string& body) {
  return status == 400 && absl::StrContains(body, "SSL certificate");
}

constexpr char kClientCertRefused[] =
    "TLS: the server refused the client certificate (none sent, or not signed by a CA it "
    "trusts); check --client-cert / --client-key";

// Turns a finished transfer into an answer.
void FillAnswer(CURL* easy, CURLcode rc, Transfer* t, HttpAnswer* answer) {
  if (rc == CURLE_OK) {
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &answer->status);
    if (IsClientCertRefusal(answer->status, t->body)) {
      // Not the batch's fault: retried like a failed connection.
      answer->status = 0;
      answer->tls_problem = true;
      answer->body = kClientCertRefused;
      return;
    }
    answer->body = std::move(t->body);
    answer->retry_after = std::move(t->retry_after);
    return;
  }
  const std::string detail = t->error[0] != '\0' ? t->error : curl_easy_strerror(rc);
  const std::string tls = TlsProblem(rc, detail);
  answer->tls_problem = !tls.empty();
  answer->body = tls.empty() ? detail : tls;
}

}  // namespace

struct HttpTransport::Impl {
  HttpTransportOptions options;
  std::string auth_header;
  CURLM* multi = nullptr;
  std::string url;                   // options.url, routed by tls_server_name
  curl_slist* connect_to = nullptr;  // set with tls_server_name
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
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  ApplyConnection(easy, options.connection, connect_to);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->error);
  // A new request waits for a connection that may multiplex (HTTP/2 over
  // TLS) rather than opening one more; plain http:// stays HTTP/1.1.
  if (options.connection.http_version != HttpVersion::kHttp11 &&
      absl::StartsWith(url, "https://")) {
    curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);
  }
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
  impl_->url = impl_->options.url;
  if (!impl_->options.connection.tls_server_name.empty()) {
    std::string entry;
    impl_->url =
        RouteByServerName(impl_->options.url, impl_->options.connection.tls_server_name, &entry);
    if (!entry.empty()) impl_->connect_to = curl_slist_append(nullptr, entry.c_str());
  }
  impl_->multi = curl_multi_init();
  curl_multi_setopt(impl_->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  const auto connections = static_cast<long>(impl_->options.max_connections);
  curl_multi_setopt(impl_->multi, CURLMOPT_MAX_HOST_CONNECTIONS, connections);
  curl_multi_setopt(impl_->multi, CURLMOPT_MAXCONNECTS, connections);
}

HttpTransport::~HttpTransport() {
  AbortAll();
  for (CURL* easy : impl_->idle) curl_easy_cleanup(easy);
  curl_multi_cleanup(impl_->multi);
  curl_slist_free_all(impl_->connect_to);
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
    FillAnswer(msg->easy_handle, msg->data.result, t.get(), &answer);
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
// The answer of one GET, for the health check.
struct HealthAnswer {
  CURLcode rc = CURLE_OK;
  long status = 0;
  Transfer t;
};

HealthAnswer GetHealth(const std::string& url, const std::string& key, absl::Duration timeout,
                       const HttpConnectionOptions& connection) {
  HealthAnswer a;
  a.t.max_body = 4096;
  std::string entry;
  const std::string routed = connection.tls_server_name.empty()
                                 ? url
                                 : RouteByServerName(url, connection.tls_server_name, &entry);
  curl_slist* connect_to = entry.empty() ? nullptr : curl_slist_append(nullptr, entry.c_str());
  CURL* easy = curl_easy_init();
  const std::string auth = "Authorization: Bearer " + key;
  curl_slist* headers = curl_slist_append(nullptr, auth.c_str());
  curl_easy_setopt(easy, CURLOPT_URL, routed.c_str());
  ApplyConnection(easy, connection, connect_to);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, a.t.error);
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, CollectBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &a.t);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, Millis(timeout));
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  a.rc = curl_easy_perform(easy);
  if (a.rc == CURLE_OK) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &a.status);
  curl_slist_free_all(headers);
  curl_slist_free_all(connect_to);
  curl_easy_cleanup(easy);
  return a;
}

}  // namespace

absl::Status CheckApiHealth(const std::string& api, const std::string& key, absl::Duration timeout,
                            const HttpConnectionOptions& connection) {
  const std::string url = api + "/v1/health";
  const HealthAnswer a = GetHealth(url, key, timeout, connection);
  const long status = a.status;
  if (a.rc != CURLE_OK) {
    const std::string detail = a.t.error[0] != '\0' ? a.t.error : curl_easy_strerror(a.rc);
    const std::string tls = TlsProblem(a.rc, detail);
    if (!tls.empty()) return absl::FailedPreconditionError(absl::StrCat(url, ": ", tls));
    return absl::UnavailableError(absl::StrCat(url, ": ", detail));
  }
  if (IsClientCertRefusal(status, a.t.body)) {
    return absl::FailedPreconditionError(absl::StrCat(url, ": ", kClientCertRefused));
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
