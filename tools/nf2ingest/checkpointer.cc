#include "tools/nf2ingest/checkpointer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "pipeline/log.h"

namespace nf2 {
namespace {

int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Checkpointer::Checkpointer(std::string path, std::vector<checkpoint::Entry> loaded)
    : path_(std::move(path)), inputs_(&tracker_, std::move(loaded)) {}

Checkpointer::~Checkpointer() {
  if (writer_.joinable()) Finish();
}

absl::StatusOr<std::unique_ptr<Checkpointer>> Checkpointer::Open(const std::string& path) {
  auto loaded = checkpoint::LoadForStart(path);
  if (!loaded.ok()) return loaded.status();
  if (!loaded->warning.empty()) LogWarn("[CHECKPOINT] " + loaded->warning);
  const std::string text = checkpoint::Serialize(loaded->entries);
  if (absl::Status st = checkpoint::WriteAtomically(path, text); !st.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot write it: ", st.message()));
  }
  auto self = std::unique_ptr<Checkpointer>(new Checkpointer(path, std::move(loaded->entries)));
  self->last_write_ns_ = SteadyNowNs();
  return self;
}

std::vector<pipeline::MetricsRegistry::CallbackHandle> Checkpointer::RegisterMetrics(
    pipeline::MetricsRegistry& registry, const std::vector<std::string>& inputs) {
  std::vector<pipeline::MetricsRegistry::CallbackHandle> handles;
  for (const std::string& input : inputs) {
    auto position = [this, input](bool acked) {
      CheckpointInputs::Position p;
      if (!inputs_.PositionOf(input, &p)) return 0.0;
      return static_cast<double>(acked ? p.acked : p.unacked);
    };
    handles.push_back(registry.AddCallback(
        "nf2ingest_input_acked_offset",
        "Byte offset of each input file up to which every line has its final outcome.", "gauge",
        {{"input", input}}, [position] { return position(true); }));
    handles.push_back(
        registry.AddCallback("nf2ingest_input_unacked_bytes",
                             "Bytes of each input file read but not yet with a final outcome.",
                             "gauge", {{"input", input}}, [position] { return position(false); }));
  }
  handles.push_back(registry.AddCallback(
      "nf2ingest_checkpoint_age_seconds", "Seconds since the checkpoint file was last written.",
      "gauge", {},
      [this] { return static_cast<double>(SteadyNowNs() - last_write_ns_.load()) / 1e9; }));
  return handles;
}

void Checkpointer::Start() {
  writer_ = std::thread([this] { WriterLoop(); });
}

// Waits for a watermark to move, then for the rest of the interval since
// the last write (so moves in between share one write), then writes.
void Checkpointer::WriterLoop() {
  uint64_t written = tracker_.version();
  while (true) {
    const uint64_t now = tracker_.WaitForChange(written, std::chrono::seconds(1));
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    if (now == written) continue;
    const auto last =
        std::chrono::steady_clock::time_point(std::chrono::nanoseconds(last_write_ns_.load()));
    if (!PaceOrStop(last + kWriteInterval)) return;
    written = tracker_.version();
    Write();
  }
}

// False when a stop came while waiting (Finish writes the last one).
bool Checkpointer::PaceOrStop(std::chrono::steady_clock::time_point until) {
  std::unique_lock<std::mutex> lock(mu_);
  return !stop_cv_.wait_until(lock, until, [this] { return stopping_; });
}

void Checkpointer::Write() {
  const absl::Status st =
      checkpoint::WriteAtomically(path_, checkpoint::Serialize(inputs_.Entries()));
  if (st.ok()) {
    last_write_ns_ = SteadyNowNs();
    if (write_failing_) LogInfo("[CHECKPOINT] writing " + path_ + " works again");
    write_failing_ = false;
    return;
  }
  if (!write_failing_) {
    LogError(absl::StrCat("[CHECKPOINT] cannot write ", path_, ": ", st.message(),
                          " (a restart would resend more)"));
  }
  write_failing_ = true;
}

void Checkpointer::Finish() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  tracker_.StopWaiting();
  if (writer_.joinable()) writer_.join();
  Write();
  for (const CheckpointInputs::Position& p : inputs_.Positions()) {
    LogAlways(absl::StrCat("[CHECKPOINT] ", p.path, " offset=", p.acked,
                           " unacked_bytes=", p.unacked, " -> ", path_));
  }
}

}  // namespace nf2
