#include "broker/paced_vfs.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "broker/vfs_layer.h"

namespace dutyhub {
namespace {

constexpr char kName[] = "dutyhub-paced-checkpoints";
// PostgreSQL's default for checkpoint_flush_after on Linux: a commit's sync queues behind a
// quarter as much as with a megabyte. In eight interleaved pairs of dutyhub-bench runs on
// this machine's shared disk, the p99 at 1,000 publishes a second was lower in five, higher
// in two (one a stall of the disk: 107 ms against 5.2), median 1.9 against 2.9 ms; publishes
// and acknowledgements alike.
constexpr sqlite3_int64 kPacedBytes = 256 << 10;

sqlite3_vfs* system_vfs = nullptr;
std::atomic<long> write_starts = 0;

// Waits for the writes started last time, then starts those made since.
int StartWrites(int fd) {
  return sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE);
}
std::atomic<WriteStarter> write_starter = StartWrites;

// The start of the system VFS's file ("unix"): SQLite has kept these first four members
// for as long as it has had VFSes, but they are not its interface, so the descriptor is
// used only after fstat shows it is this very file (FileDescriptorOf).
struct UnixFileStart {
  const sqlite3_io_methods* methods;
  sqlite3_vfs* vfs;
  void* inode;
  int fd;
};

struct PacedFile {
  sqlite3_file base;
  sqlite3_file* system;
  int fd;                     // -1: not paced (not the database file, or not verified)
  sqlite3_int64 unpaced = 0;  // bytes written since writes were last started
};

PacedFile* Paced(sqlite3_file* file) { return reinterpret_cast<PacedFile*>(file); }
sqlite3_file* System(sqlite3_file* file) { return Paced(file)->system; }

int FileDescriptorOf(sqlite3_file* system, const char* name) {
  if (std::strcmp(system_vfs->zName, "unix") != 0 || name == nullptr) return -1;
  const int fd = reinterpret_cast<const UnixFileStart*>(system)->fd;
  struct stat by_fd {};
  struct stat by_name {};
  if (fd < 0 || fstat(fd, &by_fd) != 0 || stat(name, &by_name) != 0) return -1;
  if (by_fd.st_dev != by_name.st_dev || by_fd.st_ino != by_name.st_ino) return -1;
  return fd;
}

int Close(sqlite3_file* file) { return System(file)->pMethods->xClose(System(file)); }
int Read(sqlite3_file* file, void* into, int amount, sqlite3_int64 offset) {
  return System(file)->pMethods->xRead(System(file), into, amount, offset);
}

int Write(sqlite3_file* file, const void* bytes, int amount, sqlite3_int64 offset) {
  PacedFile* f = Paced(file);
  const int rc = f->system->pMethods->xWrite(f->system, bytes, amount, offset);
  if (rc != SQLITE_OK || f->fd < 0) return rc;
  f->unpaced += amount;
  if (f->unpaced < kPacedBytes) return SQLITE_OK;
  f->unpaced = 0;
  if (write_starter.load()(f->fd) == 0) {
    ++write_starts;
    return SQLITE_OK;
  }
  if (errno == EINVAL || errno == ENOSYS || errno == ESPIPE) {
    f->fd = -1;  // a file system that cannot start writes early: unpaced from now on
    return SQLITE_OK;
  }
  // Waiting, the kernel may have told this call of a page that failed to reach the disk,
  // and it tells each handle once: the checkpoint's own sync would then succeed without it.
  // So the checkpoint fails here, counts nothing copied, and those pages stay in the log.
  return SQLITE_IOERR_WRITE;
}

int Truncate(sqlite3_file* file, sqlite3_int64 size) {
  return System(file)->pMethods->xTruncate(System(file), size);
}
int Sync(sqlite3_file* file, int flags) {
  Paced(file)->unpaced = 0;
  return System(file)->pMethods->xSync(System(file), flags);
}
int FileSize(sqlite3_file* file, sqlite3_int64* size) {
  return System(file)->pMethods->xFileSize(System(file), size);
}
int Lock(sqlite3_file* file, int level) {
  return System(file)->pMethods->xLock(System(file), level);
}
int Unlock(sqlite3_file* file, int level) {
  return System(file)->pMethods->xUnlock(System(file), level);
}
int CheckReservedLock(sqlite3_file* file, int* out) {
  return System(file)->pMethods->xCheckReservedLock(System(file), out);
}
int FileControl(sqlite3_file* file, int op, void* arg) {
  return System(file)->pMethods->xFileControl(System(file), op, arg);
}
int SectorSize(sqlite3_file* file) { return System(file)->pMethods->xSectorSize(System(file)); }
int DeviceCharacteristics(sqlite3_file* file) {
  return System(file)->pMethods->xDeviceCharacteristics(System(file));
}
int ShmMap(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  return System(file)->pMethods->xShmMap(System(file), region, size, extend, out);
}
int ShmLock(sqlite3_file* file, int offset, int n, int flags) {
  return System(file)->pMethods->xShmLock(System(file), offset, n, flags);
}
void ShmBarrier(sqlite3_file* file) { System(file)->pMethods->xShmBarrier(System(file)); }
int ShmUnmap(sqlite3_file* file, int delete_flag) {
  return System(file)->pMethods->xShmUnmap(System(file), delete_flag);
}
int Fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  return System(file)->pMethods->xFetch(System(file), offset, amount, out);
}
int Unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  return System(file)->pMethods->xUnfetch(System(file), offset, page);
}

// The database file is the one with shared memory for the log's index, so all three
// versions' methods are passed on (a system file of an older version is not wrapped: Open).
// clang-format off
const sqlite3_io_methods kPacedMethods = {
    3,           Close,      Read,    Write,   Truncate,   Sync,     FileSize, Lock,  Unlock,
    CheckReservedLock, FileControl, SectorSize, DeviceCharacteristics,
    ShmMap,      ShmLock,    ShmBarrier, ShmUnmap, Fetch,  Unfetch,
};
// clang-format on

int Open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  if ((flags & SQLITE_OPEN_MAIN_DB) == 0)
    return system_vfs->xOpen(system_vfs, name, file, flags, out_flags);
  PacedFile* f = Paced(file);
  f->base.pMethods = nullptr;  // so SQLite does not close what failed to open
  f->system = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) +
                                              SystemFileOffset(sizeof(PacedFile)));
  const int rc = system_vfs->xOpen(system_vfs, name, f->system, flags, out_flags);
  if (rc != SQLITE_OK) return rc;
  if (f->system->pMethods->iVersion < 3) {
    // Not the methods this layer was written against: the system's file alone, unpaced.
    f->system->pMethods->xClose(f->system);
    return system_vfs->xOpen(system_vfs, name, file, flags, out_flags);
  }
  f->fd = FileDescriptorOf(f->system, name);
  f->unpaced = 0;
  f->base.pMethods = &kPacedMethods;
  return SQLITE_OK;
}

sqlite3_vfs paced_vfs;

}  // namespace

long PacedWriteStarts() { return write_starts.load(); }

void StartWritesWithForTesting(WriteStarter starter) {
  write_starter.store(starter != nullptr ? starter : StartWrites);
}

const char* PacedDatabaseVfs() {
  static const bool registered = [] {
    system_vfs = RegisterLayerOverSystemVfs(paced_vfs, kName, sizeof(PacedFile), Open);
    return system_vfs != nullptr;
  }();
  return registered ? kName : nullptr;
}

}  // namespace dutyhub
