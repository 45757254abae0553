// The gathered log writes when the disk refuses them: a write-out that fails before a read
// (where SQLite would undo only the statement for a full disk) must undo the whole
// transaction, so nothing commits over the bytes that never reached the log.
//
// Its own binary: the failing VFS must be the default before the gathering VFS is first
// registered over it.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "broker/sqlite.h"
#include "broker/wal_vfs.h"

namespace dutyhub {
namespace {

std::atomic<bool> refuse_log_writes = false;
sqlite3_vfs* unix_vfs = nullptr;

// A log file whose writes fail as a full disk's do while `refuse_log_writes`.
struct FailingFile {
  sqlite3_file base;
  sqlite3_file* real;
};
sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<FailingFile*>(f)->real; }

const sqlite3_io_methods kFailingMethods = {
    1,
    [](sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); },
    [](sqlite3_file* f, void* p, int n, sqlite3_int64 o) {
      return Real(f)->pMethods->xRead(Real(f), p, n, o);
    },
    [](sqlite3_file* f, const void* p, int n, sqlite3_int64 o) {
      return refuse_log_writes ? SQLITE_FULL : Real(f)->pMethods->xWrite(Real(f), p, n, o);
    },
    [](sqlite3_file* f, sqlite3_int64 n) { return Real(f)->pMethods->xTruncate(Real(f), n); },
    [](sqlite3_file* f, int flags) { return Real(f)->pMethods->xSync(Real(f), flags); },
    [](sqlite3_file* f, sqlite3_int64* n) { return Real(f)->pMethods->xFileSize(Real(f), n); },
    [](sqlite3_file* f, int l) { return Real(f)->pMethods->xLock(Real(f), l); },
    [](sqlite3_file* f, int l) { return Real(f)->pMethods->xUnlock(Real(f), l); },
    [](sqlite3_file* f, int* out) { return Real(f)->pMethods->xCheckReservedLock(Real(f), out); },
    [](sqlite3_file* f, int op, void* arg) {
      return Real(f)->pMethods->xFileControl(Real(f), op, arg);
    },
    [](sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); },
    [](sqlite3_file* f) { return Real(f)->pMethods->xDeviceCharacteristics(Real(f)); },
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

sqlite3_vfs failing_vfs;

int OpenFailing(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out) {
  if ((flags & SQLITE_OPEN_WAL) == 0) return unix_vfs->xOpen(unix_vfs, name, file, flags, out);
  auto* f = reinterpret_cast<FailingFile*>(file);
  f->base.pMethods = nullptr;
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + 64);
  const int rc = unix_vfs->xOpen(unix_vfs, name, f->real, flags, out);
  if (rc == SQLITE_OK) f->base.pMethods = &kFailingMethods;
  return rc;
}

class WalVfsFaultTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    unix_vfs = sqlite3_vfs_find(nullptr);
    failing_vfs = *unix_vfs;
    failing_vfs.zName = "failing-log";
    failing_vfs.pNext = nullptr;
    failing_vfs.szOsFile = 64 + unix_vfs->szOsFile;
    failing_vfs.xOpen = OpenFailing;
    ASSERT_EQ(sqlite3_vfs_register(&failing_vfs, /*makeDflt=*/1), SQLITE_OK);
  }
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("dutyhub-wal-fault-" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "store.sqlite").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  static std::string One(const std::string& path, const std::string& sql) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    std::string result = "(error)";
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
      result = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return result;
  }

  std::filesystem::path dir_;
  std::string path_;
};

TEST_F(WalVfsFaultTest, AWriteOutRefusedBeforeAReadUndoesTheWholeTransaction) {
  auto opened = Database::Open(path_, /*read_only=*/false, /*gather_log_writes=*/true);
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  std::unique_ptr<Database> db = std::move(*opened);
  ASSERT_TRUE(
      db->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=5; "
               "CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL UNIQUE);"
               "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 50) "
               "INSERT INTO t (body) SELECT randomblob(1500) FROM n;")
          .ok());
  ASSERT_TRUE(db->Exec("BEGIN IMMEDIATE").ok());
  // Spills most of the table's pages into the gathered log: the cache holds five.
  ASSERT_TRUE(db->Exec("UPDATE t SET body = randomblob(1400)").ok());
  refuse_log_writes = true;
  // Reading the spilled pages writes the gathered bytes out first, and that is refused. A
  // statement with a statement journal: for a full disk SQLite would undo only it.
  Status refused = db->Exec("INSERT INTO t (body) SELECT randomblob(900) FROM t");
  refuse_log_writes = false;
  EXPECT_FALSE(refused.ok());
  // The whole transaction is undone, so the next statement is a transaction of its own,
  // started afresh, and commits; and no commit can include the lost bytes.
  EXPECT_TRUE(db->Exec("INSERT INTO t (body) VALUES (randomblob(10))").ok());
  EXPECT_FALSE(db->Exec("COMMIT").ok()) << "no transaction is left to commit";
  // And the store goes on: a transaction started afresh commits.
  ASSERT_TRUE(db->Exec("INSERT INTO t (body) VALUES (randomblob(20))").ok());

  // The files as a crash now would leave them.
  const std::filesystem::path copy_dir = dir_ / "crash";
  std::filesystem::create_directories(copy_dir);
  for (const char* suffix : {"", "-wal"}) {
    std::filesystem::copy_file(path_ + suffix, (copy_dir / "store.sqlite").string() + suffix);
  }
  const std::string copy = (copy_dir / "store.sqlite").string();
  EXPECT_EQ(One(copy, "PRAGMA integrity_check"), "ok");
  EXPECT_EQ(One(copy, "SELECT COUNT(*) FROM t"), "52") << "the 50, then the two made afresh";
  EXPECT_EQ(One(copy, "SELECT COUNT(*) FROM t WHERE length(body) = 1400"), "0")
      << "nothing of the undone transaction";
  EXPECT_EQ(One(path_, "PRAGMA integrity_check"), "ok");
}

// The log starting over after a refused write-out. When a checkpoint has copied all of the
// log, the next transaction writes the log's header at its start (new salts) and then its
// frames from there, all before the bytes that were lost: that must be let through. It once
// failed as a disk I/O error, which stops the writer until restart, so a broker whose disk
// had filled never confirmed again once space was freed. Driven through the file's own
// methods, as SQLite calls them, so the order is exact.
TEST_F(WalVfsFaultTest, AfterARefusedWriteOutTheLogMayStartOver) {
  sqlite3_vfs* vfs = sqlite3_vfs_find(GatheringWalVfs());
  ASSERT_NE(vfs, nullptr);
  std::unique_ptr<char[]> memory(new char[static_cast<size_t>(vfs->szOsFile)]());
  auto* file = reinterpret_cast<sqlite3_file*>(memory.get());
  const std::string name = path_ + "-wal";
  std::ofstream(path_).put('\0');  // the system's VFS gives a log its database file's permissions
  int out = 0;
  ASSERT_EQ(vfs->xOpen(vfs, name.c_str(), file,
                       SQLITE_OPEN_WAL | SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &out),
            SQLITE_OK);
  auto frame_header = [](uint32_t commit_size) {
    std::string header(24, '\0');
    header[7] = static_cast<char>(commit_size);
    return header;
  };
  const std::string log_header(32, 'h');
  const std::string page(4096, 'p');
  auto write = [&](const std::string& bytes, sqlite3_int64 at) {
    return file->pMethods->xWrite(file, bytes.data(), static_cast<int>(bytes.size()), at);
  };
  // Frames of a transaction that is not committed yet: gathered.
  ASSERT_EQ(write(log_header, 0), SQLITE_OK);
  const sqlite3_int64 first_frame = 32 + 100 * (24 + 4096);
  ASSERT_EQ(write(frame_header(0), first_frame), SQLITE_OK);
  ASSERT_EQ(write(page, first_frame + 24), SQLITE_OK);
  // A read writes them out first, and the disk refuses: they are lost.
  char byte = 0;
  refuse_log_writes = true;
  EXPECT_NE(file->pMethods->xRead(file, &byte, 1, 0), SQLITE_OK);
  refuse_log_writes = false;
  EXPECT_EQ(write(page, first_frame + 24 + 4096 + 24), SQLITE_IOERR_WRITE)
      << "nothing goes on over the hole";
  // The log starts over: its header, then a committed transaction's frame.
  EXPECT_EQ(write(log_header, 0), SQLITE_OK);
  EXPECT_EQ(write(frame_header(1), 32), SQLITE_OK);
  EXPECT_EQ(write(page, 32 + 24), SQLITE_OK);
  EXPECT_EQ(file->pMethods->xSync(file, SQLITE_SYNC_NORMAL), SQLITE_OK);
  EXPECT_EQ(file->pMethods->xClose(file), SQLITE_OK);
}

}  // namespace
}  // namespace dutyhub
