#include "stages/sources/checkpoint_inputs.h"

#include <algorithm>

namespace nf2 {

CheckpointInputs::CheckpointInputs(pipeline::AckTracker* tracker,
                                   std::vector<checkpoint::Entry> loaded)
    : tracker_(tracker), loaded_(std::move(loaded)) {}

const checkpoint::Entry* CheckpointInputs::Loaded(const std::string& path) const {
  return checkpoint::Find(loaded_, path);
}

pipeline::AckTracker::InputId CheckpointInputs::Open(const std::string& path,
                                                     const checkpoint::FileIdentity& identity,
                                                     uint64_t offset) {
  std::lock_guard<std::mutex> lock(mu_);
  const auto id = tracker_->AddInput(offset);
  auto it = std::find_if(paths_.begin(), paths_.end(),
                         [&](const PathFiles& p) { return p.path == path; });
  if (it == paths_.end()) it = paths_.insert(paths_.end(), PathFiles{path, {}});
  it->files.push_back(File{id, identity});
  return id;
}

CheckpointInputs::File* CheckpointInputs::FindLocked(pipeline::AckTracker::InputId id) {
  for (PathFiles& p : paths_) {
    for (File& f : p.files) {
      if (f.id == id) return &f;
    }
  }
  return nullptr;
}

void CheckpointInputs::Refresh(pipeline::AckTracker::InputId id,
                               const checkpoint::FileIdentity& identity) {
  std::lock_guard<std::mutex> lock(mu_);
  if (File* f = FindLocked(id)) f->identity = identity;
}

void CheckpointInputs::Close(pipeline::AckTracker::InputId id, uint64_t end) {
  std::lock_guard<std::mutex> lock(mu_);
  if (File* f = FindLocked(id)) {
    f->closed = true;
    f->end = end;
  }
}

// The oldest file of the path whose lines are not all final, else the newest.
const CheckpointInputs::File& CheckpointInputs::Current(const PathFiles& p) const {
  for (size_t i = 0; i + 1 < p.files.size(); ++i) {
    const File& f = p.files[i];
    if (!f.closed || tracker_->Watermark(f.id) < f.end) return f;
  }
  return p.files.back();
}

std::vector<checkpoint::Entry> CheckpointInputs::Entries() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<checkpoint::Entry> out;
  for (const checkpoint::Entry& e : loaded_) {
    const bool read_now = std::any_of(paths_.begin(), paths_.end(),
                                      [&](const PathFiles& p) { return p.path == e.path; });
    if (!read_now) out.push_back(e);
  }
  for (const PathFiles& p : paths_) {
    const File& f = Current(p);
    out.push_back(checkpoint::MakeEntry(p.path, f.identity, tracker_->Watermark(f.id)));
  }
  return out;
}

bool CheckpointInputs::PositionOf(const std::string& path, Position* out) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const PathFiles& p : paths_) {
    if (p.path != path) continue;
    const File& f = Current(p);
    uint64_t unacked = 0;
    for (const File& g : p.files) unacked += tracker_->UnackedBytes(g.id);
    *out = Position{p.path, tracker_->Watermark(f.id), unacked};
    return true;
  }
  return false;
}

std::vector<CheckpointInputs::Position> CheckpointInputs::Positions() const {
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const PathFiles& p : paths_) names.push_back(p.path);
  }
  std::vector<Position> out;
  for (const std::string& n : names) {
    Position pos;
    if (PositionOf(n, &pos)) out.push_back(pos);
  }
  return out;
}

}  // namespace nf2
