// The gathered log writes (broker/wal_vfs.h): what SQLite is told is committed is in the
// files the kernel holds, for other connections and for a restart after a crash.
#include "broker/wal_vfs.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "broker/sqlite.h"

namespace dutyhub {
namespace {

class WalVfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("dutyhub-wal-vfs-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    path_ = (dir_ / "store.sqlite").string();
    auto db = Database::Open(path_, /*read_only=*/false, /*gather_log_writes=*/true);
    ASSERT_TRUE(db.ok()) << db.status().message();
    writer_ = std::move(*db);
    ASSERT_TRUE(writer_
                    ->Exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                           "CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL);"
                           "CREATE INDEX t_by_body ON t (body);")
                    .ok());
  }
  void TearDown() override {
    writer_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Rows as another connection, through the system's own VFS, sees them.
  static int64_t Rows(const std::string& path) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    int64_t rows = -1;
    if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM t", -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
      rows = sqlite3_column_int64(s, 0);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return rows;
  }

  static std::string IntegrityOf(const std::string& path) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    std::string result;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &s, nullptr) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW) {
      result = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return result;
  }

  // What a machine that lost power now would come back to: the files as the kernel has
  // them, copied while the writer still has them open (nothing of its memory included).
  std::string CrashCopy(const std::string& name) {
    const std::filesystem::path to = dir_ / name;
    std::filesystem::create_directories(to);
    for (const char* suffix : {"", "-wal"}) {
      std::filesystem::copy_file(path_ + suffix, (to / "store.sqlite").string() + suffix);
    }
    return (to / "store.sqlite").string();
  }

  // A crash now would keep all `rows` committed rows, in a sound database.
  void ExpectACrashKeeps(const std::string& name, int rows, const char* why = "") {
    const std::string copy = CrashCopy(name);
    EXPECT_EQ(Rows(copy), rows) << name << ": " << why;
    EXPECT_EQ(IntegrityOf(copy), "ok") << name;
  }

  void Insert(int rows, int bytes) {
    ASSERT_TRUE(writer_->Exec("BEGIN IMMEDIATE").ok());
    auto s = writer_->Prepare("INSERT INTO t (body) VALUES (randomblob(?))");
    ASSERT_TRUE(s.ok());
    for (int i = 0; i < rows; ++i) {
      (*s)->Bind(1, bytes);
      ASSERT_EQ((*s)->Step(), SQLITE_DONE);
      (*s)->Reset();
    }
    ASSERT_TRUE(writer_->Exec("COMMIT").ok());
  }

  // 50 rows committed, then one transaction of 100 more and five rewrites of every row with
  // a page cache of five pages: SQLite spills frames mid-transaction, writes the same pages'
  // frames again in place, and rewrites the frames' checksums at the commit.
  void SpillAndRewriteInOneTransaction() {
    ASSERT_TRUE(writer_->Exec("PRAGMA cache_size=5").ok());
    Insert(50, 1500);
    ASSERT_TRUE(writer_->Exec("BEGIN IMMEDIATE").ok());
    for (int pass = 0; pass < 5; ++pass) {
      ASSERT_TRUE(
          writer_->Exec("UPDATE t SET body = randomblob(1400 + " + std::to_string(pass) + ")")
              .ok());
      ASSERT_TRUE(
          writer_->Exec("INSERT INTO t (body) SELECT randomblob(900) FROM t LIMIT 20").ok());
    }
    ASSERT_TRUE(writer_->Exec("COMMIT").ok());
  }

  std::filesystem::path dir_;
  std::string path_;
  std::unique_ptr<Database> writer_;
};

TEST_F(WalVfsTest, EveryCommitIsSeenByAnotherConnectionAtOnce) {
  for (int commit = 1; commit <= 20; ++commit) {
    Insert(commit, 1500);
    EXPECT_EQ(Rows(path_), commit * (commit + 1) / 2) << "after commit " << commit;
  }
}

TEST_F(WalVfsTest, ACommitIsWrittenOutEvenWhenNothingSyncsIt) {
  // The broker always syncs at commit; should anything open the log without (NORMAL), a
  // finished commit frame still reaches the kernel before other connections are told of it.
  ASSERT_TRUE(writer_->Exec("PRAGMA synchronous=NORMAL").ok());
  for (int commit = 1; commit <= 5; ++commit) {
    Insert(10, 1500);
    EXPECT_EQ(Rows(path_), commit * 10) << "after commit " << commit;
  }
}

TEST_F(WalVfsTest, RewrittenChecksumsReachTheKernelEvenWhenNothingSyncs) {
  // The commit frame's header is the last of the checksums SQLite rewrites at the commit.
  ASSERT_TRUE(writer_->Exec("PRAGMA synchronous=NORMAL").ok());
  SpillAndRewriteInOneTransaction();
  // Right after the commit, before any later write could carry its last header out.
  ExpectACrashKeeps("after-rewrites", 150,
                    "a stale checksum would end the log's recovery before that commit");
}

TEST_F(WalVfsTest, PaddingFramesAfterACommitAreWrittenOutToo) {
  // Without power-safe overwrite SQLite pads a commit to the sector with copies of its commit
  // frame, the last split around its sync.
  writer_.reset();
  std::filesystem::remove_all(dir_);
  std::filesystem::create_directories(dir_);
  sqlite3* db = nullptr;
  const std::string uri = "file:" + path_ + "?psow=0";
  ASSERT_EQ(sqlite3_open_v2(uri.c_str(), &db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_URI,
                            GatheringWalVfs()),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                         "CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  for (int commit = 1; commit <= 10; ++commit) {
    ASSERT_EQ(sqlite3_exec(db, "INSERT INTO t (body) VALUES (randomblob(3000))", nullptr, nullptr,
                           nullptr),
              SQLITE_OK);
    EXPECT_EQ(Rows(path_), commit);
  }
  ExpectACrashKeeps("after-padding", 10);
  sqlite3_close(db);
}

TEST_F(WalVfsTest, EveryCommitSurvivesACrashRightAfterIt) {
  Insert(100, 1500);
  const std::string first = CrashCopy("after-first");
  Insert(1, 10);
  const std::string second = CrashCopy("after-second");
  EXPECT_EQ(Rows(first), 100);
  EXPECT_EQ(Rows(second), 101);
  EXPECT_EQ(IntegrityOf(second), "ok");
}

TEST_F(WalVfsTest, ATransactionLargerThanOneGatheringIsWholeAfterACrash) {
  // About 30 MB in one commit: past the 8 MiB gathered at most, so written in several goes.
  Insert(20000, 1500);
  ExpectACrashKeeps("after-large", 20000);
}

TEST_F(WalVfsTest, PagesSpilledAndWrittenAgainInOneTransactionAreKeptRight) {
  SpillAndRewriteInOneTransaction();
  EXPECT_EQ(Rows(path_), 150);
  ExpectACrashKeeps("after-spills", 150);
}

TEST_F(WalVfsTest, ARolledBackTransactionLeavesNothingBehind) {
  Insert(10, 1500);
  ASSERT_TRUE(writer_->Exec("BEGIN IMMEDIATE").ok());
  ASSERT_TRUE(writer_->Exec("INSERT INTO t (body) SELECT randomblob(1500) FROM t").ok());
  ASSERT_TRUE(writer_->Exec("ROLLBACK").ok());
  Insert(1, 10);
  EXPECT_EQ(Rows(path_), 11);
  ExpectACrashKeeps("after-rollback", 11);
}

TEST_F(WalVfsTest, CheckpointsAndTheLogStartingOverKeepEveryRow) {
  for (int round = 0; round < 5; ++round) {
    Insert(500, 1500);
    ASSERT_TRUE(writer_->Exec("PRAGMA wal_checkpoint(PASSIVE)").ok());
  }
  // The next commits start the log over from its beginning, through the gathered file.
  Insert(3, 1500);
  EXPECT_EQ(Rows(path_), 2503);
  ExpectACrashKeeps("after-restart", 2503);
}

}  // namespace
}  // namespace dutyhub
