#include "tests/support/test_util.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "gtest/gtest.h"
#include "rapidjson/document.h"

namespace nf2::testing {

std::string BinPath(const std::string& name) { return std::string(NF2_BIN_DIR) + "/" + name; }

namespace {
// Temp dirs made by this test process, removed when it exits (set
// NF2_KEEP_TEST_DIRS=1 to keep them for a post-mortem).
std::vector<std::string>& TempDirs() {
  static auto* dirs = new std::vector<std::string>();
  return *dirs;
}
void RemoveTempDirs() {
  if (std::getenv("NF2_KEEP_TEST_DIRS")) return;
  for (const auto& d : TempDirs()) {
    std::error_code ignored;
    std::filesystem::remove_all(d, ignored);
  }
}
}  // namespace

std::string TempDir() {
  std::string tmpl = "/tmp/nf2test.XXXXXX";
  char* dir = mkdtemp(tmpl.data());
  if (!dir) ADD_FAILURE() << "mkdtemp failed";
  if (TempDirs().empty()) std::atexit(RemoveTempDirs);
  TempDirs().push_back(tmpl);
  return tmpl;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path, std::ios::binary);
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

namespace {

// argv/envp as execve wants them, built before fork: the child may only make
// async-signal-safe calls.
struct ExecImage {
  std::vector<std::string> strings;
  std::vector<char*> argv;
  std::vector<char*> envp;
};

ExecImage MakeExecImage(const SpawnOptions& options) {
  // Environment: ours, with the requested variables replaced or added.
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv(*e);
    const size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : options.env) env[k] = v;
  ExecImage image;
  image.strings = options.argv;
  for (const auto& [k, v] : env) image.strings.push_back(std::string(k).append("=").append(v));
  for (size_t i = 0; i < image.strings.size(); ++i) {
    (i < options.argv.size() ? image.argv : image.envp).push_back(image.strings[i].data());
  }
  image.argv.push_back(nullptr);
  image.envp.push_back(nullptr);
  return image;
}

// In the child, between fork and exec: tie its life to the test process
// (a test that crashes or times out must not leave servers behind), set up
// descriptors 0-2, reset signals, exec. Reports errno on `report_fd`.
[[noreturn]] void ExecChild(const SpawnOptions& options, const ExecImage& image, pid_t parent,
                            int stdout_pipe, int report_fd) {
  auto fail = [report_fd]() {
    const int err = errno;
    (void)!write(report_fd, &err, sizeof err);
    _exit(127);
  };
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) fail();
  if (getppid() != parent) _exit(127);  // the test process is already gone
  auto open_onto = [&](const char* path, int flags, int target) {
    const int fd = open(path, flags | O_CLOEXEC, 0644);
    if (fd < 0 || dup2(fd, target) < 0) fail();
    if (fd != target) close(fd);
  };
  if (options.stdin_fd >= 0) {
    if (dup2(options.stdin_fd, 0) < 0) fail();
  } else {
    open_onto(options.stdin_path.empty() ? "/dev/null" : options.stdin_path.c_str(), O_RDONLY, 0);
  }
  if (stdout_pipe >= 0) {
    if (dup2(stdout_pipe, 1) < 0) fail();
  } else {
    open_onto(options.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 1);
  }
  if (!options.stderr_path.empty()) {
    open_onto(options.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 2);
  }
  if (options.close_stdin) close(0);  // last: the opens above must not land on it
  // The child starts with default signal handling and an empty mask.
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &dfl, nullptr);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  execve(image.argv[0], image.argv.data(), image.envp.data());
  fail();
  _exit(127);  // fail() does; the compiler cannot tell
}

}  // namespace

Process::Process(const SpawnOptions& options) {
  const ExecImage image = MakeExecImage(options);
  int out_pipe[2] = {-1, -1};
  if (options.stdout_path.empty() && pipe2(out_pipe, O_CLOEXEC) != 0)
    ADD_FAILURE() << "pipe failed";
  int report[2] = {-1, -1};
  if (pipe2(report, O_CLOEXEC) != 0) ADD_FAILURE() << "pipe failed";
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ == 0) ExecChild(options, image, parent, out_pipe[1], report[1]);
  close(report[1]);
  if (out_pipe[1] >= 0) close(out_pipe[1]);
  stdout_fd_ = out_pipe[0];
  int child_errno = 0;
  const ssize_t got = pid_ > 0 ? read(report[0], &child_errno, sizeof child_errno) : 0;
  close(report[0]);
  if (pid_ < 0 || got > 0) {
    ADD_FAILURE() << "cannot start " << options.argv[0] << ": "
                  << strerror(pid_ < 0 ? errno : child_errno);
    if (pid_ > 0) waitpid(pid_, nullptr, 0);
    pid_ = -1;
    return;
  }
  pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
}

Process::~Process() {
  if (pid_ > 0 && !exit_code_) {
    kill(pid_, SIGKILL);
    Wait(std::chrono::seconds(10));
  }
  if (pidfd_ >= 0) close(pidfd_);
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

void Process::Signal(int sig) {
  if (pid_ > 0 && !exit_code_) kill(pid_, sig);
}

bool Process::WaitForText(const std::string& path, const std::string& text,
                          std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (ReadFile(path).find(text) != std::string::npos) return true;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    // Wakes early when the child exits; otherwise looks again every 10 ms.
    const bool exited = Wait(std::min(left, std::chrono::milliseconds(10))).has_value();
    if (exited) return ReadFile(path).find(text) != std::string::npos;
  }
}

std::optional<std::string> Process::ReadStdoutLine(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    size_t nl = buffered_.find('\n');
    if (nl != std::string::npos) {
      std::string line = buffered_.substr(0, nl);
      buffered_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || stdout_fd_ < 0) return std::nullopt;
    pollfd pfd{stdout_fd_, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    ssize_t n = read(stdout_fd_, buf, sizeof buf);
    if (n <= 0) return std::nullopt;
    buffered_.append(buf, static_cast<size_t>(n));
  }
}

std::optional<int> Process::Wait(std::chrono::milliseconds timeout) {
  if (exit_code_) return exit_code_;
  if (pid_ <= 0) return -1;
  if (pidfd_ >= 0) {
    pollfd pfd{pidfd_, POLLIN, 0};
    if (poll(&pfd, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
  }
  int status = 0;
  if (waitpid(pid_, &status, 0) != pid_) return std::nullopt;
  exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return exit_code_;
}

Sink::Sink(const std::vector<std::string>& extra_args, std::map<std::string, std::string> env) {
  const std::string dir = TempDir();
  out_path_ = dir + "/received.jsonl";
  SpawnOptions opts;
  opts.argv = {BinPath("ingest-sink"), "--port", "0", "--out", out_path_};
  for (const auto& a : extra_args) opts.argv.push_back(a);
  opts.env = std::move(env);
  opts.stderr_path = dir + "/sink.stderr";
  process_ = std::make_unique<Process>(opts);
  auto line = process_->ReadStdoutLine(std::chrono::seconds(20));
  if (!line) {
    ADD_FAILURE() << "ingest-sink did not start: " << ReadFile(opts.stderr_path);
    return;
  }
  size_t colon = line->rfind(':');
  port_ = std::atoi(line->c_str() + colon + 1);
  EXPECT_GT(port_, 0) << *line;
}

std::map<std::string, double> Sink::Metrics() {
  auto [status, body] = HttpGet(url() + "/v1/metrics?window=300", "TEST_KEY");
  std::map<std::string, double> out;
  EXPECT_EQ(status, 200) << body;
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  if (doc.HasParseError() || !doc.IsObject()) {
    ADD_FAILURE() << "metrics not JSON: " << body;
    return out;
  }
  // rapidjson 1.1's member iterators predate C++20's reversed comparisons.
  // NOLINTNEXTLINE(clang-diagnostic-ambiguous-reversed-operator)
  for (auto& m : doc.GetObject()) {
    if (m.value.IsNumber()) out[m.name.GetString()] = m.value.GetDouble();
    if (m.value.IsObject() && std::string(m.name.GetString()) == "status_counts") {
      // NOLINTNEXTLINE(clang-diagnostic-ambiguous-reversed-operator)
      for (auto& s : m.value.GetObject()) {
        if (s.value.IsNumber())
          out[std::string("status:") + s.name.GetString()] = s.value.GetDouble();
      }
    }
  }
  return out;
}

std::map<std::string, uint64_t> ParseSummary(const std::string& log) {
  std::map<std::string, uint64_t> out;
  size_t at = log.rfind("[SUMMARY]");
  if (at == std::string::npos) return out;
  std::istringstream in(log.substr(at + 9, log.find('\n', at) - at - 9));
  std::string kv;
  while (in >> kv) {
    size_t eq = kv.find('=');
    if (eq != std::string::npos) out[kv.substr(0, eq)] = std::stoull(kv.substr(eq + 1));
  }
  return out;
}

SpawnOptions Nf2ingestOptions(const std::string& dir, const std::vector<std::string>& args,
                              const std::map<std::string, std::string>& env) {
  SpawnOptions opts;
  opts.argv = {BinPath("nf2ingest")};
  opts.argv.insert(opts.argv.end(), args.begin(), args.end());
  opts.env = env;
  opts.stdout_path = dir + "/stdout";
  opts.stderr_path = dir + "/stderr";
  return opts;
}

RunResult RunNf2ingest(const std::vector<std::string>& args,
                       const std::map<std::string, std::string>& env, const std::string& stdin_path,
                       std::chrono::milliseconds timeout) {
  const std::string dir = TempDir();
  SpawnOptions opts = Nf2ingestOptions(dir, args, env);
  opts.stdin_path = stdin_path;
  RunResult result;
  {
    Process p(opts);
    auto code = p.Wait(timeout);
    if (!code) {
      ADD_FAILURE() << "nf2ingest still running after " << timeout.count() << " ms";
      p.Signal(SIGKILL);
      code = p.Wait(std::chrono::seconds(10));
    }
    result.exit_code = code.value_or(-1);
  }
  result.stderr_text = ReadFile(opts.stderr_path);
  result.summary = ParseSummary(result.stderr_text);
  return result;
}

Corpus MakeCorpus(const std::string& dir, const std::string& name,
                  const std::vector<std::string>& args) {
  Corpus c{dir + "/" + name + ".jsonl", dir + "/" + name + ".expected.jsonl", ""};
  SpawnOptions opts;
  opts.argv = {BinPath("flowgen"), "--out", c.lines, "--expected", c.expected};
  for (const auto& a : args) opts.argv.push_back(a);
  opts.stdout_path = dir + "/" + name + ".flowgen.stdout";
  opts.stderr_path = dir + "/" + name + ".flowgen.stderr";
  Process p(opts);
  EXPECT_EQ(p.Wait(std::chrono::seconds(60)), 0);
  c.stats = ReadFile(opts.stderr_path);
  return c;
}

uint64_t FlowgenCount(const std::string& stats, const std::string& key) {
  size_t at = stats.find(" " + key + "=");
  EXPECT_NE(at, std::string::npos) << stats;
  if (at == std::string::npos) return 0;
  return std::stoull(stats.substr(stats.find('=', at) + 1));
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::map<std::string, std::string> EnvFor(const Sink& sink) {
  return {{"API", sink.url()},
          {"KEY", "TEST_KEY"},
          {"RETRY_INITIAL", "0.05"},
          {"RETRY_MAX", "0.5"},
          {"LOG_LEVEL", "INFO"}};
}

void ExpectBalanced(const RunResult& r) {
  const auto& s = r.summary;
  ASSERT_FALSE(s.empty()) << "no [SUMMARY] line in:\n" << r.stderr_text;
  EXPECT_EQ(s.at("lines"), s.at("delivered") + s.at("filtered") + s.at("invalid") +
                               s.at("rejected") + s.at("spooled") + s.at("undelivered"))
      << r.stderr_text;
}

namespace {
size_t Collect(char* data, size_t size, size_t nmemb, void* user) {
  static_cast<std::string*>(user)->append(data, size * nmemb);
  return size * nmemb;
}
}  // namespace

int ListenOnLoopback(int backlog, int* port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), len), 0);
  EXPECT_EQ(listen(fd, backlog), 0);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  *port = ntohs(addr.sin_port);
  return fd;
}

HeldPort::HeldPort() {
  fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_GE(fd_, 0);
  const int one = 1;
  EXPECT_EQ(setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one), 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), len), 0);
  EXPECT_EQ(getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  port_ = ntohs(addr.sin_port);
}

HeldPort::~HeldPort() {
  if (fd_ >= 0) close(fd_);
}

bool LoopbackAccepts(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  close(fd);
  return ok;
}

std::pair<long, std::string> HttpGet(const std::string& url, const std::string& key) {
  CURL* easy = curl_easy_init();
  std::string body;
  curl_slist* headers = curl_slist_append(nullptr, ("Authorization: Bearer " + key).c_str());
  curl_easy_setopt(easy, CURLOPT_URL, url.c_str());
  curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, 10000L);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  long status = 0;
  if (curl_easy_perform(easy) == CURLE_OK) curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
  curl_slist_free_all(headers);
  curl_easy_cleanup(easy);
  return {status, body};
}

}  // namespace nf2::testing
