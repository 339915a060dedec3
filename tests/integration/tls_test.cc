// Delivery over TLS through a real nginx (mutual TLS, proxy_pass to an
// ingest-sink over plain HTTP), with certificates made here by the openssl
// CLI: the right CA and client certificate deliver (over HTTP/2 unless told
// otherwise); an unknown CA, a wrong name, an expired certificate, a missing
// client certificate and https:// to a plain port each end the run at start
// with exit 5 and their own message. Also: a proxy's password stays out of
// the log.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/test_util.h"

namespace nf2::testing {
namespace {

using ::testing::HasSubstr;

constexpr char kInstallHint[] = " is missing: run scripts/install-deps.sh";

bool Have(const std::string& program) {
  return std::system(("command -v " + program + " >/dev/null 2>&1 || test -x /usr/sbin/" + program)
                         .c_str()) == 0;
}

std::string NginxPath() {
  return access("/usr/sbin/nginx", X_OK) == 0 ? "/usr/sbin/nginx" : "nginx";
}

// Runs a shell command in `dir`; fails the test with its output otherwise.
void Sh(const std::string& dir, const std::string& cmd) {
  const std::string full = "cd '" + dir + "' && (" + cmd + ") >>openssl.log 2>&1";
  ASSERT_EQ(std::system(full.c_str()), 0) << cmd << "\n" << ReadFile(dir + "/openssl.log");
}

// A CA, a second CA nobody trusts, server certificates for 127.0.0.1 and
// localhost (one valid, one expired in 2020) and a client certificate.
void MakeCertificates(const std::string& d) {
  Sh(d,
     "for ca in ca other; do openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "
     "/CN=$ca-test-ca -keyout $ca.key -out $ca.pem; done");
  WriteFile(d + "/san.ext", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  Sh(d, "openssl req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout srv.key -out srv.csr");
  Sh(d,
     "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
     "-extfile san.ext -out srv.pem");
  WriteFile(d + "/ca.cnf",
            "[ca]\ndefault_ca=d\n[d]\ndatabase=index.txt\nnew_certs_dir=.\nserial=serial.txt\n"
            "default_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n");
  WriteFile(d + "/index.txt", "");
  WriteFile(d + "/serial.txt", "1000\n");
  Sh(d,
     "openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in srv.csr -out "
     "expired.pem -startdate 20200101000000Z -enddate 20200102000000Z -extfile san.ext");
  Sh(d, "openssl req -newkey rsa:2048 -nodes -subj /CN=client -keyout client.key -out client.csr");
  Sh(d,
     "openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 "
     "-out client.pem");
  chmod((d + "/client.key").c_str(), 0600);
}

std::string NginxConf(const std::string& d, int mtls_port, int expired_port, int sink_port) {
  const std::string proxy =
      "location / { proxy_pass http://127.0.0.1:" + std::to_string(sink_port) +
      "; proxy_http_version 1.1; proxy_set_header Connection \"\"; }\n";
  // As root, workers would run as nobody and could not use the test's files.
  const std::string user = getuid() == 0 ? "user root;\n" : "";
  return user + "worker_processes 1;\ndaemon off;\npid " + d + "/nginx.pid;\nerror_log " + d +
         "/error.log;\nevents { worker_connections 256; }\nhttp {\n"
         "  log_format p '$server_protocol';\n  access_log " +
         d +
         "/access.log p;\n"
         "  client_body_temp_path " +
         d + "/t1; proxy_temp_path " + d +
         "/t2;\n"
         "  fastcgi_temp_path " +
         d + "/t3; uwsgi_temp_path " + d + "/t4; scgi_temp_path " + d +
         "/t5;\n  client_max_body_size 16m; client_body_buffer_size 16m;\n"
         "  server {\n    listen 127.0.0.1:" +
         std::to_string(mtls_port) +
         " ssl http2;\n"
         "    ssl_certificate " +
         d + "/srv.pem; ssl_certificate_key " + d +
         "/srv.key;\n"
         "    ssl_client_certificate " +
         d + "/ca.pem; ssl_verify_client on;\n    " + proxy +
         "  }\n  server {\n    listen 127.0.0.1:" + std::to_string(expired_port) +
         " ssl;\n"
         "    ssl_certificate " +
         d + "/expired.pem; ssl_certificate_key " + d + "/srv.key;\n    " + proxy + "  }\n}\n";
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Have("openssl")) << "openssl" << kInstallHint;
    ASSERT_TRUE(Have("nginx")) << "nginx (nginx-light)" << kInstallHint;
    dir_ = TempDir();
    ASSERT_NO_FATAL_FAILURE(MakeCertificates(dir_));
    mtls_port_ = mtls_held_.port();
    expired_port_ = expired_held_.port();
    WriteFile(dir_ + "/nginx.conf", NginxConf(dir_, mtls_port_, expired_port_, sink_.port()));
    SpawnOptions o;
    o.argv = {NginxPath(), "-c", dir_ + "/nginx.conf", "-p", dir_, "-e", dir_ + "/error.log"};
    o.stderr_path = dir_ + "/nginx.stderr";
    nginx_ = std::make_unique<Process>(o);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!(LoopbackAccepts(mtls_port_) && LoopbackAccepts(expired_port_))) {
      ASSERT_LT(std::chrono::steady_clock::now(), deadline)
          << "nginx did not listen: " << ReadFile(dir_ + "/error.log");
      ASSERT_FALSE(nginx_->Wait(std::chrono::milliseconds(50)).has_value())
          << "nginx exited: " << ReadFile(dir_ + "/error.log");
    }
    corpus_ = MakeCorpus(dir_, "c", {"--count", "500", "--seed", "9"});
  }

  void TearDown() override {
    if (nginx_) {
      nginx_->Signal(SIGTERM);
      nginx_->Wait(std::chrono::seconds(10));
    }
  }

  std::map<std::string, std::string> Env(const std::string& url) {
    std::map<std::string, std::string> env = EnvFor(sink_);
    env["API"] = url;
    env["CONNECT_TIMEOUT"] = "2";
    env["TIMEOUT"] = "5";
    return env;
  }
  std::string Url(int port, const std::string& host = "localhost") {
    return "https://" + host + ":" + std::to_string(port);
  }
  std::string CaFile() { return "--ca-file=" + dir_ + "/ca.pem"; }
  std::vector<std::string> ClientCert() {
    return {"--client-cert=" + dir_ + "/client.pem", "--client-key=" + dir_ + "/client.key"};
  }
  RunResult Run(std::vector<std::string> args, const std::string& url) {
    args.push_back(corpus_.lines);
    return RunNf2ingest(args, Env(url), "", std::chrono::seconds(30));
  }

  Sink sink_;
  std::string dir_;
  const HeldPort mtls_held_;  // nginx binds both with SO_REUSEADDR
  const HeldPort expired_held_;
  int mtls_port_ = 0;
  int expired_port_ = 0;
  std::unique_ptr<Process> nginx_;
  Corpus corpus_;
};

TEST_F(TlsTest, DeliversWithTheRightCaAndClientCertificateOverHttp2) {
  std::vector<std::string> args = ClientCert();
  args.push_back(CaFile());
  const RunResult r = Run(args, Url(mtls_port_));
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(r.summary.at("delivered"), FlowgenCount(corpus_.stats, "valid"));
  EXPECT_THAT(ReadFile(dir_ + "/access.log"), HasSubstr("HTTP/2.0"));
  EXPECT_EQ(ReadLines(sink_.out_path()).size(), FlowgenCount(corpus_.stats, "valid"));
}

TEST_F(TlsTest, Http11WhenAskedFor) {
  std::vector<std::string> args = ClientCert();
  args.push_back(CaFile());
  args.emplace_back("--http-version=1.1");
  const RunResult r = Run(args, Url(mtls_port_));
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  const std::string log = ReadFile(dir_ + "/access.log");
  EXPECT_THAT(log, HasSubstr("HTTP/1.1"));
  EXPECT_THAT(log, ::testing::Not(HasSubstr("HTTP/2.0")));
}

TEST_F(TlsTest, ServerNameForAnAddressUrl) {
  std::vector<std::string> args = ClientCert();
  args.push_back(CaFile());
  args.emplace_back("--tls-server-name=localhost");
  const RunResult r = Run(args, Url(mtls_port_, "127.0.0.1"));
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
}

TEST_F(TlsTest, UnknownCaFailsFast) {
  std::vector<std::string> args = ClientCert();
  args.push_back("--ca-file=" + dir_ + "/other.pem");
  const RunResult r = Run(args, Url(mtls_port_));
  EXPECT_EQ(r.exit_code, 5) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("certificate is not trusted"));
  EXPECT_THAT(r.stderr_text, HasSubstr("--ca-file"));
  EXPECT_EQ(ReadFile(dir_ + "/access.log"), "");
}

TEST_F(TlsTest, WrongServerNameFailsFast) {
  std::vector<std::string> args = ClientCert();
  args.push_back(CaFile());
  args.emplace_back("--tls-server-name=api.example");
  const RunResult r = Run(args, Url(mtls_port_, "127.0.0.1"));
  EXPECT_EQ(r.exit_code, 5) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("api.example"));
  EXPECT_THAT(r.stderr_text, HasSubstr("--tls-server-name"));
}

TEST_F(TlsTest, ExpiredCertificateFailsFast) {
  const RunResult r = Run({CaFile()}, Url(expired_port_));
  EXPECT_EQ(r.exit_code, 5) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("expired"));
}

TEST_F(TlsTest, MissingClientCertificateFailsFast) {
  const RunResult r = Run({CaFile()}, Url(mtls_port_));
  EXPECT_EQ(r.exit_code, 5) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("refused the client certificate"));
}

TEST_F(TlsTest, HttpsToAPlainPortFailsFast) {
  const RunResult r = Run({CaFile()}, "https://127.0.0.1:" + std::to_string(sink_.port()));
  EXPECT_EQ(r.exit_code, 5) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("does not speak TLS"));
}

TEST_F(TlsTest, ReadableClientKeyIsWarnedAbout) {
  chmod((dir_ + "/client.key").c_str(), 0644);
  std::vector<std::string> args = ClientCert();
  args.push_back(CaFile());
  const RunResult r = Run(args, Url(mtls_port_));
  EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("readable by its group or others"));
  EXPECT_THAT(r.stderr_text, ::testing::Not(HasSubstr("PRIVATE KEY")));
}

// The proxy is used (the health check goes to it) and its password never
// reaches the log.
TEST(ProxyTest, ProxyIsUsedAndItsPasswordNeverLogged) {
  Sink sink;
  auto env = EnvFor(sink);
  const HeldPort held;  // nothing listens there
  const int closed = held.port();
  env["PROXY"] = "http://user:s3cretpw@127.0.0.1:" + std::to_string(closed);
  env["DRAIN_TIMEOUT"] = "1";
  const std::string dir = TempDir();
  const Corpus c = MakeCorpus(dir, "c", {"--count", "20", "--seed", "3"});
  const RunResult r = RunNf2ingest({c.lines}, env, "", std::chrono::seconds(30));
  EXPECT_EQ(r.exit_code, 3) << r.stderr_text;  // nothing reached the API
  EXPECT_THAT(r.stderr_text, HasSubstr("port " + std::to_string(closed)));
  EXPECT_THAT(r.stderr_text, HasSubstr("proxy=http://127.0.0.1:" + std::to_string(closed)));
  EXPECT_THAT(r.stderr_text, ::testing::Not(HasSubstr("s3cretpw")));
}

}  // namespace
}  // namespace nf2::testing
