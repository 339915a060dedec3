// Which file each input path is being read from, and how far it is
// acknowledged: the meeting point of the source (which opens, rotates and
// finishes files) and the checkpoint writer (which turns it into entries).
//
// One path can see several files in a run (--follow across a rotation or a
// truncation). Each file is its own AckTracker input, since offsets restart at
// 0. The entry written for a path stays on the oldest of its files that still
// has lines without a final outcome, so a crash never records a new file while
// the old one's tail is still in flight. Thread-safe.
#ifndef NF2INGEST_STAGES_SOURCES_CHECKPOINT_INPUTS_H_
#define NF2INGEST_STAGES_SOURCES_CHECKPOINT_INPUTS_H_

#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "pipeline/ack_tracker.h"
#include "stages/sources/checkpoint.h"

namespace nf2 {

class CheckpointInputs {
 public:
  // `loaded`: the entries found at start (their offsets decide where inputs
  // resume; entries of paths not read this run are written back unchanged).
  CheckpointInputs(pipeline::AckTracker* tracker, std::vector<checkpoint::Entry> loaded);

  pipeline::AckTracker* tracker() const { return tracker_; }
  // The entry found at start for `path`, or null.
  const checkpoint::Entry* Loaded(const std::string& path) const;

  // The source starts reading the file `identity` at `path` from `offset`;
  // returns the tracker input its chunks register with.
  pipeline::AckTracker::InputId Open(const std::string& path,
                                     const checkpoint::FileIdentity& identity, uint64_t offset);
  // A fresher identity of the same file (its fingerprint covers more bytes).
  void Refresh(pipeline::AckTracker::InputId id, const checkpoint::FileIdentity& identity);
  // The source is done with input `id`; it read up to `end`.
  void Close(pipeline::AckTracker::InputId id, uint64_t end);

  // One entry per path: the loaded ones not read this run, and for each
  // path read, its oldest file not yet acknowledged to its end.
  std::vector<checkpoint::Entry> Entries() const;

  struct Position {
    std::string path;
    uint64_t acked = 0;    // the offset a restart would resume at
    uint64_t unacked = 0;  // bytes read past it, not final yet
  };
  // Null path: not read (yet) this run.
  bool PositionOf(const std::string& path, Position* out) const;
  std::vector<Position> Positions() const;

 private:
  struct File {
    pipeline::AckTracker::InputId id;
    checkpoint::FileIdentity identity;
    bool closed = false;
    uint64_t end = 0;
  };
  struct PathFiles {
    std::string path;
    std::vector<File> files;  // in the order they were opened
  };
  const File& Current(const PathFiles& p) const;
  File* FindLocked(pipeline::AckTracker::InputId id);

  pipeline::AckTracker* tracker_;
  std::vector<checkpoint::Entry> loaded_;
  mutable std::mutex mu_;
  std::vector<PathFiles> paths_;
};

}  // namespace nf2

#endif  // NF2INGEST_STAGES_SOURCES_CHECKPOINT_INPUTS_H_
