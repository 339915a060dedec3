// The curl side of the sender: concurrent POSTs over kept-alive connections
// (curl multi), answers collected as plain values. It exists so that curl
// stays an implementation detail of this one file: the sender decides what to
// send and what an answer means, and neither it nor anything that includes it
// sees a curl type (nf2_http_sink links curl PRIVATE).
#ifndef NF2INGEST_STAGES_SINKS_HTTP_HTTP_TRANSPORT_H_
#define NF2INGEST_STAGES_SINKS_HTTP_HTTP_TRANSPORT_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace nf2 {

// How requests reach the API: TLS material, proxy, HTTP version. Shared by
// the sender and the start-up health check so both connect the same way.
enum class HttpVersion { kAuto, kHttp11, kHttp2 };
struct HttpConnectionOptions {
  std::string ca_file;      // PEM bundle; empty = the system store
  std::string client_cert;  // PEM; with client_key for mutual TLS
  std::string client_key;   // path only; the key itself is never read here
  // The name the certificate must carry when the URL names an address: the
  // request goes to the URL's address, TLS (SNI, verification) uses this name.
  std::string tls_server_name;
  std::string proxy;  // empty = libcurl's HTTPS_PROXY / HTTP_PROXY / NO_PROXY
  // kAuto: HTTP/2 when TLS offers it (ALPN), else HTTP/1.1.
  HttpVersion http_version = HttpVersion::kAuto;
};

struct HttpTransportOptions {
  std::string url;
  HttpConnectionOptions connection;
  std::string key;  // sent as "Authorization: Bearer <key>"; never logged
  int max_connections = 4;
  absl::Duration timeout = absl::Seconds(30);
  absl::Duration connect_timeout = absl::Seconds(5);
  // An answer body is kept up to this many bytes (it is only diagnostics).
  size_t max_answer_bytes = 4096;
};

// One finished POST.
struct HttpAnswer {
  uint64_t tag = 0;         // as given to Post
  long status = 0;          // 0 = no answer (the transport error is in `body`)
  std::string body;         // the first max_answer_bytes of the answer
  std::string retry_after;  // the Retry-After header, empty when absent
  std::chrono::steady_clock::duration took{};
  // No answer because TLS failed (certificate unknown, expired, refused...).
  bool tls_problem = false;
};

class HttpTransport {
 public:
  explicit HttpTransport(HttpTransportOptions options);
  ~HttpTransport();
  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

  // Starts a POST of `body` (which must stay valid until its answer) with
  // the Authorization header, JSON content type and `headers` ("Name: value").
  void Post(uint64_t tag, std::string_view body, const std::vector<std::string>& headers);
  size_t active() const;
  // Moves transfers along and appends the finished ones to `done`.
  void Collect(std::vector<HttpAnswer>* done);
  // Sleeps until a socket is ready, Wake() is called, or `wait` passes.
  void Wait(std::chrono::milliseconds wait);
  // Ends a Wait early; callable from any thread.
  void Wake();
  // Drops every transfer in flight and returns their tags.
  std::vector<uint64_t> AbortAll();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// GET {api}/v1/health with the key. PermissionDenied when the API refuses
// the key (401/403), FailedPrecondition when TLS fails (a certificate the
// CA does not vouch for, a name mismatch, an expired or refused certificate,
// https:// to a plain port): waiting cannot fix those. Unavailable when it
// cannot be reached or answers otherwise; the message never holds the key.
absl::Status CheckApiHealth(const std::string& api, const std::string& key, absl::Duration timeout,
                            const HttpConnectionOptions& connection = {});

}  // namespace nf2

#endif  // NF2INGEST_STAGES_SINKS_HTTP_HTTP_TRANSPORT_H_
