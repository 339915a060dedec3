// Reads stdin, files and FIFOs and hands out blocks of whole lines.
//
// A block goes out as soon as a read returns at least one whole line, so a
// FIFO with three lines in it does not wait for more; under load reads are
// batched up to `chunk_bytes`. The queue is bounded: when the pipeline is
// slow, Push blocks and the source stops reading (backpressure to the
// writer).
#ifndef NF2INGEST_STAGES_SOURCES_LINE_SOURCE_H_
#define NF2INGEST_STAGES_SOURCES_LINE_SOURCE_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "pipeline/bounded_queue.h"
#include "pipeline/outcomes.h"
#include "pipeline/recycler.h"
#include "pipeline/shutdown.h"
#include "stages/flows/chunks.h"
#include "stages/sources/checkpoint_inputs.h"

namespace nf2 {

struct LineSourceOptions {
  std::vector<std::string> inputs;  // paths; "-" is stdin
  size_t chunk_bytes = 1024 * 1024;
  size_t max_line_bytes = 1024 * 1024;  // longer lines (newline excluded) are counted invalid
  // Descriptor 0 was closed when the program started (it now holds
  // /dev/null): reading "-" is an input error rather than an empty input.
  bool stdin_closed = false;
  // --checkpoint-file (not owned; null: none): regular files resume where
  // the last run's acknowledgements reached, and register their chunks.
  CheckpointInputs* checkpoint = nullptr;
  // --follow: at the end of a regular file wait for more (tail -F): follow a
  // rename rotation after finishing the old file, restart a truncated file
  // at 0, wait for a path that does not exist yet. Ends on a stop request.
  bool follow = false;
};

class LineSource {
 public:
  // `recycler` (optional) supplies reused chunks; the consumer gives them back.
  LineSource(LineSourceOptions options, pipeline::BoundedQueue<LineChunk>* out,
             pipeline::Outcomes* outcomes, pipeline::Shutdown* shutdown,
             pipeline::Recycler<LineChunk>* recycler = nullptr);

  // Reads every input in turn until the end or a stop request. Does not close
  // the queue. An input that cannot be opened or read is reported in the
  // returned status after the others have been read, and logged by name.
  absl::Status Run();

 private:
  struct Input;  // one input being read: descriptor, buffer, where it is at

  absl::Status RunEachInputInItsThread();
  absl::Status ReadInput(const std::string& name);
  int OpenInput(const std::string& name);
  absl::Status ReadFd(int fd, const std::string& name, bool reopened, bool* rotated);
  absl::Status ReadLoop(Input& in);
  void StartTracking(Input& in, bool reopened);
  void Track(Input& in, uint64_t offset);
  void RegisterChunk(Input& in, LineChunk& chunk, uint64_t end, uint64_t units);
  bool FollowAtEof(Input& in);
  bool RestartIfTruncated(Input& in);
  bool RotationFinished(Input& in);
  void WaitForWrite(Input& in);
  bool WaitForData(Input& in);
  bool ReadMore(Input& in);
  bool AwaitingFirstWriter(const Input& in);
  bool DropRestOfLongLine(Input& in);
  void MakeRoomForLongLine(Input& in);
  void ShipLines(Input& in, size_t lines_end);
  std::unique_ptr<LineChunk> NewChunk(size_t capacity) const;
  pipeline::Recycler<LineChunk>* recycler_;

  LineSourceOptions options_;
  pipeline::BoundedQueue<LineChunk>* out_;
  pipeline::Outcomes* outcomes_;
  pipeline::Shutdown* shutdown_;
};

}  // namespace nf2

#endif  // NF2INGEST_STAGES_SOURCES_LINE_SOURCE_H_
