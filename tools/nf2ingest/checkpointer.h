// --checkpoint-file at run time: loads the file by the start policy before
// any input is read, then keeps it within about kWriteInterval of the
// acknowledged offsets while the pipeline runs, and writes it one last time
// after the sender has finished. Owns the AckTracker, so every chunk
// reference the pipeline holds stays valid until the pipeline has joined.
#ifndef NF2INGEST_TOOLS_NF2INGEST_CHECKPOINTER_H_
#define NF2INGEST_TOOLS_NF2INGEST_CHECKPOINTER_H_

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "pipeline/ack_tracker.h"
#include "pipeline/metrics.h"
#include "stages/sources/checkpoint_inputs.h"

namespace nf2 {

class Checkpointer {
 public:
  // At most one write per interval; a moved watermark is written at most
  // this long after it moved (plus the time of the write itself).
  static constexpr std::chrono::milliseconds kWriteInterval{200};

  // Loads `path` (a corrupt file is set aside with a warning, every input
  // then starts at the top) and writes it back at once, proving that the
  // directory is writable. An error is bad configuration, its message
  // without the setting's name.
  static absl::StatusOr<std::unique_ptr<Checkpointer>> Open(const std::string& path);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  CheckpointInputs* inputs() { return &inputs_; }

  // Per input: the acknowledged offset and the bytes read past it; the age
  // of the last write. The handles unregister them when dropped.
  std::vector<pipeline::MetricsRegistry::CallbackHandle> RegisterMetrics(
      pipeline::MetricsRegistry& registry, const std::vector<std::string>& inputs);

  // Starts the writer thread.
  void Start();
  // Stops it, writes the final checkpoint and logs one [CHECKPOINT] line per
  // input. Call after the pipeline has finished.
  void Finish();

 private:
  explicit Checkpointer(std::string path, std::vector<checkpoint::Entry> loaded);
  void WriterLoop();
  bool PaceOrStop(std::chrono::steady_clock::time_point until);
  void Write();

  const std::string path_;
  pipeline::AckTracker tracker_;
  CheckpointInputs inputs_;
  std::thread writer_;
  std::mutex mu_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  bool write_failing_ = false;             // said once, until a write succeeds again
  std::atomic<int64_t> last_write_ns_{0};  // steady clock
};

}  // namespace nf2

#endif  // NF2INGEST_TOOLS_NF2INGEST_CHECKPOINTER_H_
