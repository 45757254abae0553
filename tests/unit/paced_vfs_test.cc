// The paced checkpoint VFS (broker/paced_vfs.h): a checkpoint through it hands the disk its
// copy a little at a time (256 KiB) and keeps every row; a failure the kernel reports while it
// waits fails the checkpoint, so nothing unsynced is counted copied; a file system that
// cannot start writes early is simply not paced.
#include "broker/paced_vfs.h"

#include <errno.h>
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <string>

#include "tests/integration/harness.h"

namespace dutyhub {
namespace {

using testing::TempDir;

std::atomic<int> fake_calls = 0;
int FailAsTheDiskDid(int) {
  ++fake_calls;
  errno = EIO;
  return -1;
}
int CannotStartWritesEarly(int) {
  ++fake_calls;
  errno = EINVAL;
  return -1;
}

class PacedVfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (dir_.path() / "store.sqlite").string();
    // About 5 MB committed to the log and not yet copied: what the checkpointer finds.
    ASSERT_EQ(sqlite3_open(path_.c_str(), &writer_), SQLITE_OK);
    ASSERT_EQ(Exec(writer_,
                   "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA wal_autocheckpoint=0; "
                   "CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL); "
                   "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 1300) "
                   "INSERT INTO t (body) SELECT randomblob(3500) FROM n;"),
              SQLITE_OK);
    ASSERT_EQ(sqlite3_open_v2(path_.c_str(), &copier_, SQLITE_OPEN_READWRITE, PacedDatabaseVfs()),
              SQLITE_OK);
    ASSERT_EQ(Exec(copier_, "PRAGMA synchronous=FULL"), SQLITE_OK);
  }
  void TearDown() override {
    StartWritesWithForTesting(nullptr);
    sqlite3_close(copier_);
    sqlite3_close(writer_);
  }

  static int Exec(sqlite3* db, const char* sql) {
    return sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  }
  // A passive checkpoint on the paced connection: SQLite's result, and whether it copied
  // all of the log.
  int Checkpoint(bool* all = nullptr) {
    int log_frames = -1;
    int copied = -1;
    const int rc = sqlite3_wal_checkpoint_v2(copier_, nullptr, SQLITE_CHECKPOINT_PASSIVE,
                                             &log_frames, &copied);
    if (all != nullptr) *all = log_frames > 0 && copied == log_frames;
    return rc;
  }
  std::string One(const char* sql) {
    sqlite3* db = nullptr;
    sqlite3_open_v2(path_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* s = nullptr;
    std::string result = "(error)";
    if (sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
      result = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return result;
  }

  TempDir dir_;
  std::string path_;
  sqlite3* writer_ = nullptr;
  sqlite3* copier_ = nullptr;
};

TEST_F(PacedVfsTest, ACheckpointHandsTheDiskItsCopyAPieceAtATime) {
  const long before = PacedWriteStarts();
  bool all = false;
  ASSERT_EQ(Checkpoint(&all), SQLITE_OK);
  EXPECT_TRUE(all) << "the whole log is copied";
  EXPECT_GE(PacedWriteStarts() - before, 16)
      << "about 5 MB copied: started every 256 KiB as it went, not all at the sync";
  EXPECT_EQ(One("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(One("SELECT COUNT(*) FROM t WHERE length(body) = 3500"), "1300");
}

TEST_F(PacedVfsTest, AWriteTheKernelReportsFailedFailsTheCheckpoint) {
  StartWritesWithForTesting(FailAsTheDiskDid);
  fake_calls = 0;
  EXPECT_NE(Checkpoint(), SQLITE_OK) << "the sync after it could not vouch for that write";
  EXPECT_EQ(fake_calls, 1) << "it stopped at the first failure";
  // The disk works again: the next checkpoint copies all of it, and nothing was lost.
  StartWritesWithForTesting(nullptr);
  bool all = false;
  ASSERT_EQ(Checkpoint(&all), SQLITE_OK);
  EXPECT_TRUE(all);
  EXPECT_EQ(One("PRAGMA integrity_check"), "ok");
  EXPECT_EQ(One("SELECT COUNT(*) FROM t"), "1300");
}

TEST_F(PacedVfsTest, AFileSystemThatCannotStartWritesEarlyIsCopiedUnpaced) {
  StartWritesWithForTesting(CannotStartWritesEarly);
  fake_calls = 0;
  bool all = false;
  ASSERT_EQ(Checkpoint(&all), SQLITE_OK);
  EXPECT_TRUE(all);
  EXPECT_EQ(fake_calls, 1) << "asked once, then not again for that file";
  EXPECT_EQ(One("SELECT COUNT(*) FROM t"), "1300");
}

}  // namespace
}  // namespace dutyhub
