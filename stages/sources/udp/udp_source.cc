#include "stages/sources/udp/udp_source.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <string_view>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "pipeline/log.h"
#include "stages/netflow/datagram_chunk.h"
#include "stages/sources/udp/udp_socket.h"

namespace nf2 {
namespace {

using Clock = std::chrono::steady_clock;

// Datagrams per recvmmsg call and the room for each: the largest UDP payload
// fits, so nothing valid is ever cut (pages are only touched when used).
constexpr int kBatch = 64;
constexpr size_t kSlotBytes = 65536;

uint64_t UnixNowNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ULL + static_cast<uint64_t>(ts.tv_nsec);
}

// The sender as the decoder keys exporters: IPv4 as a v4-mapped IPv6 address.
netflow::Exporter ExporterOf(const sockaddr_storage& from) {
  netflow::Exporter e{};
  if (from.ss_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6&>(from);
    std::memcpy(e.addr.data(), &a.sin6_addr, 16);
    e.port = ntohs(a.sin6_port);
  } else if (from.ss_family == AF_INET) {
    const auto& a = reinterpret_cast<const sockaddr_in&>(from);
    e.addr[10] = 0xff;
    e.addr[11] = 0xff;
    std::memcpy(e.addr.data() + 12, &a.sin_addr, 4);
    e.port = ntohs(a.sin_port);
  }
  return e;
}

// The receive buffers of one recvmmsg call, with room for each datagram's
// sender and its SO_RXQ_OVFL control message.
struct RecvBatch {
  static constexpr size_t kControlBytes = CMSG_SPACE(sizeof(uint32_t));

  RecvBatch() : data(kBatch * kSlotBytes) {
    for (int i = 0; i < kBatch; ++i) {
      iov[i] = {data.data() + i * kSlotBytes, kSlotBytes};
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_name = &from[i];
      msgs[i].msg_hdr.msg_control = control[i].data();
    }
    Reset();
  }
  // recvmmsg shrinks the lengths it fills in; every call starts from full.
  void Reset() {
    for (int i = 0; i < kBatch; ++i) {
      msgs[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      msgs[i].msg_hdr.msg_controllen = kControlBytes;
      msgs[i].msg_hdr.msg_flags = 0;
      msgs[i].msg_len = 0;
    }
  }
  // The socket's running drop count in message `i`, if it carries one.
  bool Drops(int i, uint32_t* drops) {
    msghdr* m = &msgs[i].msg_hdr;
    for (cmsghdr* c = CMSG_FIRSTHDR(m); c != nullptr; c = CMSG_NXTHDR(m, c)) {
      if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) {
        std::memcpy(drops, CMSG_DATA(c), sizeof *drops);
        return true;
      }
    }
    return false;
  }

  std::vector<char> data;
  std::array<mmsghdr, kBatch> msgs{};
  std::array<iovec, kBatch> iov{};
  std::array<sockaddr_storage, kBatch> from{};
  alignas(cmsghdr) std::array<std::array<char, kControlBytes>, kBatch> control{};
};

}  // namespace

// Reads one socket into chunks until a stop request.
class UdpSource::Reader {
 public:
  Reader(int fd, const UdpSourceOptions& options, Counters* counters,
         pipeline::BoundedQueue<LineChunk>* out, pipeline::Shutdown* shutdown,
         pipeline::Recycler<LineChunk>* recycler)
      : fd_(fd),
        options_(options),
        counters_(counters),
        out_(out),
        shutdown_(shutdown),
        recycler_(recycler),
        // A chunk is full when one more datagram of the largest size may not fit.
        full_bytes_(std::max(options.chunk_bytes, kSlotBytes * 2) - kSlotBytes -
                    netflow::kDatagramFrameHeader) {}

  void Run() {
    while (!shutdown_->stop_requested()) {
      if (!WaitReadable()) {
        ShipIfDue();
        continue;
      }
      // Under a steady flood the socket never runs dry: look at the stop
      // request and the chunk's age after every batch.
      while (ReadBatch() == kBatch && !shutdown_->stop_requested()) ShipIfDue();
      ShipIfDue();
    }
    // Datagrams the kernel already held were sent before the stop: take
    // them, but no more than a full receive buffer's worth, so exporters that
    // keep sending cannot hold the stop up.
    const uint64_t limit = counters_->bytes.load() + static_cast<uint64_t>(options_.rcvbuf_bytes);
    while (counters_->bytes.load() < limit && ReadBatch() > 0) {
    }
    Ship();
  }

 private:
  bool chunk_full() const { return chunk_ && chunk_->size >= full_bytes_; }

  // Waits for datagrams, a stop request, or the partial chunk's deadline;
  // true when the socket is readable.
  bool WaitReadable() {
    int timeout_ms = -1;
    if (chunk_ && chunk_->size > 0) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          first_at_ + options_.max_hold - Clock::now());
      timeout_ms = static_cast<int>(std::max<int64_t>(left.count(), 0));
    }
    pollfd fds[2] = {{fd_, POLLIN, 0}, {shutdown_->wake_fd(), POLLIN, 0}};
    const int n = poll(fds, 2, timeout_ms);
    return n > 0 && (fds[0].revents & POLLIN) != 0;
  }

  // One recvmmsg call into the current chunk; how many datagrams it read.
  int ReadBatch() {
    batch_.Reset();
    const int n = recvmmsg(fd_, batch_.msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) {
      if (n < 0 && errno != EAGAIN && errno != EINTR) LogReadError();
      return 0;
    }
    const uint64_t now_ns = UnixNowNs();
    for (int i = 0; i < n; ++i) Append(i, now_ns);
    if (chunk_full()) Ship();
    return n;
  }

  void Append(int i, uint64_t now_ns) {
    uint32_t drops = 0;
    if (batch_.Drops(i, &drops)) counters_->kernel_drops.store(drops, std::memory_order_relaxed);
    const mmsghdr& m = batch_.msgs[i];
    if ((m.msg_hdr.msg_flags & MSG_TRUNC) != 0) {
      counters_->truncated.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (!chunk_) StartChunk();
    if (chunk_->size == 0) first_at_ = Clock::now();
    const std::string_view bytes(batch_.data.data() + static_cast<size_t>(i) * kSlotBytes,
                                 m.msg_len);
    netflow::AppendDatagram(chunk_.get(), ExporterOf(batch_.from[i]), now_ns, bytes);
    counters_->datagrams.fetch_add(1, std::memory_order_relaxed);
    counters_->bytes.fetch_add(m.msg_len, std::memory_order_relaxed);
  }

  // Chunks are recycled: every field a parser looks at is set here.
  void StartChunk() {
    chunk_ = recycler_ ? recycler_->Take() : std::make_unique<LineChunk>();
    netflow::ResetDatagramChunk(chunk_.get());
    chunk_->ref = pipeline::ChunkRef();
    chunk_->data.reserve(full_bytes_ + kSlotBytes + netflow::kDatagramFrameHeader + kLinePadding);
  }

  void ShipIfDue() {
    if (chunk_ && chunk_->size > 0 && Clock::now() - first_at_ >= options_.max_hold) Ship();
  }

  // Blocks while the pipeline is full: the kernel buffer takes the slack.
  void Ship() {
    if (!chunk_ || chunk_->size == 0) return;
    out_->Push(std::move(chunk_));
  }

  void LogReadError() {
    const int error = errno;
    LogThrottled(read_errors_, LogLevel::kWarn, [error] {
      return absl::StrCat("[NETFLOW] reading a UDP socket failed: ", std::strerror(error));
    });
  }

  const int fd_;
  const UdpSourceOptions& options_;
  Counters* counters_;
  pipeline::BoundedQueue<LineChunk>* out_;
  pipeline::Shutdown* shutdown_;
  pipeline::Recycler<LineChunk>* recycler_;
  const size_t full_bytes_;
  RecvBatch batch_;
  std::unique_ptr<LineChunk> chunk_;
  Clock::time_point first_at_;
  LogThrottle read_errors_{3, 60.0};
};

absl::StatusOr<std::unique_ptr<UdpSource>> UdpSource::Open(const UdpSourceOptions& options) {
  std::unique_ptr<UdpSource> source(new UdpSource(options));
  source->rcvbuf_granted_ = options.rcvbuf_bytes;
  for (ListenAddress address : options.listen) {
    for (int i = 0; i < std::max(1, options.sockets_per_address); ++i) {
      absl::StatusOr<OpenedUdpSocket> s = OpenUdpSocket(address, options.rcvbuf_bytes);
      if (!s.ok()) return s.status();  // the destructor closes the others
      source->fds_.push_back(s->fd);
      source->rcvbuf_granted_ = std::min(source->rcvbuf_granted_, s->rcvbuf_bytes);
      // The other sockets join the port the first one got.
      address.port = s->port;
    }
    source->bound_.push_back(address.ToString());
  }
  source->counters_ = std::make_unique<Counters[]>(source->fds_.size());
  return source;
}

UdpSource::~UdpSource() {
  for (int fd : fds_) close(fd);
}

absl::Status UdpSource::Run(pipeline::BoundedQueue<LineChunk>* out, pipeline::Shutdown* shutdown,
                            pipeline::Recycler<LineChunk>* recycler) {
  std::vector<std::thread> threads;
  for (size_t i = 0; i < fds_.size(); ++i) {
    threads.emplace_back([this, i, out, shutdown, recycler] {
      Reader(fds_[i], options_, &counters_[i], out, shutdown, recycler).Run();
    });
  }
  for (std::thread& t : threads) t.join();
  shutdown->MarkInputFinished();
  return absl::OkStatus();
}

UdpSourceStats UdpSource::stats() const {
  UdpSourceStats s;
  for (size_t i = 0; i < fds_.size(); ++i) {
    const Counters& c = counters_[i];
    s.datagrams += c.datagrams.load(std::memory_order_relaxed);
    s.bytes += c.bytes.load(std::memory_order_relaxed);
    s.kernel_drops += c.kernel_drops.load(std::memory_order_relaxed);
    s.truncated += c.truncated.load(std::memory_order_relaxed);
  }
  return s;
}

}  // namespace nf2
