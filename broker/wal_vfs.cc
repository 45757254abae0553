#include "broker/wal_vfs.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <new>
#include <vector>

#include "broker/vfs_layer.h"

namespace dutyhub {
namespace {

constexpr char kName[] = "dutyhub-gathered-wal";
// SQLite's WAL format: a frame's header (page number, commit size, salts, checksums), and the
// log's own header at its start (magic, page size, salts).
constexpr int kFrameHeaderBytes = 24;
constexpr int kLogHeaderBytes = 32;
constexpr size_t kMostGathered = 8 << 20;  // past this, write out and start again

sqlite3_vfs* system_vfs = nullptr;

// A log file: SQLite sees `base`; the system's file handle lives in the memory after it.
struct GatheredFile {
  sqlite3_file base;
  sqlite3_file* system;
  std::vector<unsigned char>* pending;  // bytes from `pending_at`, not yet written
  sqlite3_int64 pending_at;
  // From a commit frame's header until the next transaction's first frame header, every
  // write goes straight to the kernel: the commit frame, any padding frames after it and any
  // checksums SQLite rewrites, none of which has a later write to carry it out otherwise.
  bool straight_through;
  // A write-out failed outside a write SQLite would see fail (a read, a size query): bytes
  // SQLite believes are in the log are not. Until it writes a frame header at or before
  // `lost_from`, which only a transaction started afresh does, every write and sync fails,
  // so nothing can commit over the hole. Writing the log's own header (at 0) starts afresh
  // too: SQLite writes it only for a transaction that finds no frame in the log (it starts
  // over after a checkpoint copied all of it), and every frame's checksum runs on from that
  // header through the frames before it, so nothing of the lost range can be counted.
  bool lost;
  sqlite3_int64 lost_from;
};

GatheredFile* Gathered(sqlite3_file* file) { return reinterpret_cast<GatheredFile*>(file); }

uint32_t CommitSizeOf(const unsigned char* header) {
  return (uint32_t{header[4]} << 24) | (uint32_t{header[5]} << 16) | (uint32_t{header[6]} << 8) |
         uint32_t{header[7]};
}

int WriteOut(GatheredFile* f) {
  if (f->pending->empty()) return SQLITE_OK;
  // The system's VFS writes at most 128 KiB in one call (it masks larger lengths), so the
  // gathered bytes go in pieces of 64 KiB: a handful of calls for a commit, not hundreds.
  constexpr size_t kPiece = 64 << 10;
  int rc = SQLITE_OK;
  for (size_t done = 0; done < f->pending->size() && rc == SQLITE_OK; done += kPiece) {
    const size_t piece = std::min(kPiece, f->pending->size() - done);
    rc = f->system->pMethods->xWrite(f->system, f->pending->data() + done, static_cast<int>(piece),
                                     f->pending_at + static_cast<sqlite3_int64>(done));
  }
  if (rc != SQLITE_OK) {
    f->lost = true;
    f->lost_from = f->pending_at;
  }
  // Kept or not, these bytes are never written again: stale bytes must not land later over
  // frames SQLite has written since.
  f->pending->clear();
  return rc;
}

// For a write-out SQLite did not ask for (before a read, a size query, a truncation): a
// full disk reported there would undo only the statement, and the transaction would go on
// over the hole, so it is reported as an I/O error, which makes SQLite undo all of it.
int WriteOutBefore(GatheredFile* f) {
  const int rc = WriteOut(f);
  return (rc & 0xff) == SQLITE_FULL ? SQLITE_IOERR_WRITE : rc;
}

int Close(sqlite3_file* file) {
  GatheredFile* f = Gathered(file);
  int rc = WriteOutBefore(f);
  const int closed = f->system->pMethods->xClose(f->system);
  delete f->pending;
  f->pending = nullptr;
  return rc != SQLITE_OK ? rc : closed;
}

int Read(sqlite3_file* file, void* into, int amount, sqlite3_int64 offset) {
  GatheredFile* f = Gathered(file);
  if (int rc = WriteOutBefore(f); rc != SQLITE_OK) return rc;
  // Reads go on while a range is lost: SQLite must read the committed log to start afresh.
  return f->system->pMethods->xRead(f->system, into, amount, offset);
}

int Write(sqlite3_file* file, const void* bytes, int amount, sqlite3_int64 offset) {
  GatheredFile* f = Gathered(file);
  const auto* data = static_cast<const unsigned char*>(bytes);
  const bool header = amount == kFrameHeaderBytes;
  if (f->lost) {
    const bool starts_over = offset == 0 && amount == kLogHeaderBytes;
    if (!starts_over && (!header || offset > f->lost_from)) return SQLITE_IOERR_WRITE;
    f->lost = false;  // a transaction starting again from before the hole, or the log over
  }
  if (header) f->straight_through = CommitSizeOf(data) != 0;
  if (f->straight_through) {
    if (int rc = WriteOut(f); rc != SQLITE_OK) return rc;
    return f->system->pMethods->xWrite(f->system, bytes, amount, offset);
  }
  std::vector<unsigned char>& pending = *f->pending;
  const sqlite3_int64 pending_end = f->pending_at + static_cast<sqlite3_int64>(pending.size());
  if (!pending.empty() && offset >= f->pending_at && offset + amount <= pending_end) {
    // SQLite writing a frame of this transaction again: in place.
    std::memcpy(pending.data() + (offset - f->pending_at), data, static_cast<size_t>(amount));
    return SQLITE_OK;
  }
  if (!pending.empty() &&
      (offset != pending_end || pending.size() + static_cast<size_t>(amount) > kMostGathered)) {
    if (int rc = WriteOut(f); rc != SQLITE_OK) return rc;
  }
  try {
    if (pending.empty()) f->pending_at = offset;
    pending.insert(pending.end(), data, data + amount);
  } catch (const std::bad_alloc&) {
    // No memory to gather in (not expected: Open reserved the most it holds): what was
    // gathered goes out first, then this, so no frame of the transaction is left unwritten.
    if (int rc = WriteOut(f); rc != SQLITE_OK) return rc;
    return f->system->pMethods->xWrite(f->system, bytes, amount, offset);
  }
  return SQLITE_OK;
}

int Truncate(sqlite3_file* file, sqlite3_int64 size) {
  GatheredFile* f = Gathered(file);
  if (int rc = WriteOutBefore(f); rc != SQLITE_OK) return rc;
  return f->system->pMethods->xTruncate(f->system, size);
}

int Sync(sqlite3_file* file, int flags) {
  GatheredFile* f = Gathered(file);
  if (f->lost) return SQLITE_IOERR_WRITE;  // the sync cannot vouch for bytes that are not there
  if (int rc = WriteOut(f); rc != SQLITE_OK) return rc;
  return f->system->pMethods->xSync(f->system, flags);
}

int FileSize(sqlite3_file* file, sqlite3_int64* size) {
  GatheredFile* f = Gathered(file);
  if (int rc = WriteOutBefore(f); rc != SQLITE_OK) return rc;
  return f->system->pMethods->xFileSize(f->system, size);
}

int Lock(sqlite3_file* file, int level) {
  return Gathered(file)->system->pMethods->xLock(Gathered(file)->system, level);
}
int Unlock(sqlite3_file* file, int level) {
  return Gathered(file)->system->pMethods->xUnlock(Gathered(file)->system, level);
}
int CheckReservedLock(sqlite3_file* file, int* out) {
  return Gathered(file)->system->pMethods->xCheckReservedLock(Gathered(file)->system, out);
}
int FileControl(sqlite3_file* file, int op, void* arg) {
  GatheredFile* f = Gathered(file);
  if (int rc = WriteOutBefore(f); rc != SQLITE_OK) return rc;
  return f->system->pMethods->xFileControl(f->system, op, arg);
}
int SectorSize(sqlite3_file* file) {
  return Gathered(file)->system->pMethods->xSectorSize(Gathered(file)->system);
}
int DeviceCharacteristics(sqlite3_file* file) {
  return Gathered(file)->system->pMethods->xDeviceCharacteristics(Gathered(file)->system);
}

// Version 1 methods only: a log has no shared memory or memory map of its own (those are
// the database file's, which is never gathered), so SQLite asks for neither here.
const sqlite3_io_methods kGatheredMethods = {
    1,
    Close,
    Read,
    Write,
    Truncate,
    Sync,
    FileSize,
    Lock,
    Unlock,
    CheckReservedLock,
    FileControl,
    SectorSize,
    DeviceCharacteristics,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  if ((flags & SQLITE_OPEN_WAL) == 0) {
    // Everything but the log is the system's file, in the same memory.
    return system_vfs->xOpen(system_vfs, name, file, flags, out_flags);
  }
  GatheredFile* f = Gathered(file);
  f->base.pMethods = nullptr;  // so SQLite does not close what failed to open
  f->system = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) +
                                              SystemFileOffset(sizeof(GatheredFile)));
  const int rc = system_vfs->xOpen(system_vfs, name, f->system, flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  f->pending = new (std::nothrow) std::vector<unsigned char>();
  if (f->pending == nullptr) {
    if (f->system->pMethods != nullptr) f->system->pMethods->xClose(f->system);
    return SQLITE_NOMEM;
  }
  try {
    // The most it ever holds (kMostGathered, then one more frame of at most 64 KiB), so
    // gathering never has to allocate in the middle of a commit. Pages are only touched as
    // they are used.
    f->pending->reserve(kMostGathered + (64 << 10) + kFrameHeaderBytes);
  } catch (const std::bad_alloc&) {
    delete f->pending;
    f->pending = nullptr;
    if (f->system->pMethods != nullptr) f->system->pMethods->xClose(f->system);
    return SQLITE_NOMEM;
  }
  f->pending_at = 0;
  f->straight_through = false;
  f->lost = false;
  f->lost_from = 0;
  f->base.pMethods = &kGatheredMethods;
  return SQLITE_OK;
}

sqlite3_vfs gathered_vfs;

}  // namespace

const char* GatheringWalVfs() {
  static const bool registered = [] {
    system_vfs = RegisterLayerOverSystemVfs(gathered_vfs, kName, sizeof(GatheredFile), Open);
    return system_vfs != nullptr;
  }();
  return registered ? kName : nullptr;
}

}  // namespace dutyhub
