// An online, consistent copy of the store while the broker runs (`dutyhub-broker backup`).
// SQLite's backup API copies every page inside one read transaction of a connection of its
// own: in WAL mode the writer goes on committing meanwhile, and the copy is the store as of
// one commit, never half of one. The copy is checked (`PRAGMA integrity_check`) before it is
// given its name, so a file called DEST is always a whole, sound store.
//
// Restore (docs in README.md, "Backup and restore"): stop the broker, move the data
// folder's dutyhub.sqlite, -wal and -shm files aside, copy DEST in as dutyhub.sqlite, start.
#pragma once

#include <cstdint>
#include <string>

#include "broker/status.h"

namespace dutyhub {

struct BackupFigures {
  int64_t notifications = 0;
  int64_t deliveries = 0;
  int64_t audit_entries = 0;
  int64_t bytes = 0;
};

// Copies the store at `store_path` to `dest`, which must not exist (a backup never
// overwrites). INVALID_ARGUMENT for a bad destination, UNAVAILABLE when the store cannot be
// read or the copy is not sound.
Result<BackupFigures> BackupStore(const std::string& store_path, const std::string& dest);

}  // namespace dutyhub
