// The page cache layer (broker/page_cache.h): commits no longer make SQLite's cache walk
// every page it holds, and every truncation that has pages to drop still drops them, so
// what a connection reads is what was committed.
#include "broker/page_cache.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <memory>
#include <string>

#include "broker/sqlite.h"
#include "tests/integration/harness.h"

namespace dutyhub {
namespace {

using testing::TempDir;

class PageCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = (dir_.path() / "store.sqlite").string();
    // As the broker opens its store: the layer goes in before SQLite starts.
    auto db = Database::Open(path_, /*read_only=*/false, /*gather_log_writes=*/true);
    ASSERT_TRUE(db.ok()) << db.status().message();
    ASSERT_TRUE(UsePageCacheThatSkipsEmptyTruncations())
        << "SQLite started before the layer went in";
    writer_ = std::move(*db);
    // The broker's cache size; ids as random as agencies' UUIDs, so pages split all over.
    ASSERT_TRUE(
        writer_
            ->Exec(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                "PRAGMA cache_size=-65536;"
                "CREATE TABLE t (id TEXT NOT NULL UNIQUE, n INTEGER NOT NULL, body BLOB NOT NULL);")
            .ok());
  }

  void Insert(Database& db, int rows, int n, int bytes) {
    auto s = db.Prepare(
        "INSERT INTO t (id, n, body) VALUES (lower(hex(randomblob(16))), ?, zeroblob(?))");
    ASSERT_TRUE(s.ok());
    for (int i = 0; i < rows; ++i) {
      (*s)->Bind(1, n).Bind(2, bytes);
      ASSERT_EQ((*s)->Step(), SQLITE_DONE);
      (*s)->Reset();
    }
  }
  void Commit(int rows, int n, int bytes) {
    ASSERT_TRUE(writer_->Exec("BEGIN IMMEDIATE").ok());
    Insert(*writer_, rows, n, bytes);
    ASSERT_TRUE(writer_->Exec("COMMIT").ok());
  }

  static std::string One(Database& db, const std::string& sql) {
    auto s = db.Prepare(sql);
    if (!s.ok() || (*s)->Step() != SQLITE_ROW) return "(no row: " + sql + ")";
    return (*s)->Text(0);
  }

  // What a new connection, with a cold cache of its own, reads from the files.
  std::string Fresh(const std::string& sql) {
    auto db = Database::Open(path_, /*read_only=*/true);
    if (!db.ok()) return db.status().message();
    return One(**db, sql);
  }

  TempDir dir_;  // first, so the connections close before it goes
  std::string path_;
  std::unique_ptr<Database> writer_;
};

TEST_F(PageCacheTest, CommitsThatSplitPagesDoNotWalkTheCache) {
  Commit(200, 1, 200);  // warm: the first commits create pages
  const PageCacheTruncations before = CountPageCacheTruncations();
  for (int commit = 0; commit < 60; ++commit) Commit(50, 1, 200);
  const PageCacheTruncations after = CountPageCacheTruncations();

  // Each commit ends with a truncation to the store's size; none had a page above it to
  // drop, so none reached SQLite's cache, which would have walked all it holds.
  EXPECT_EQ(after.passed_on, before.passed_on);
  EXPECT_GE(after.answered - before.answered, 60u);
  EXPECT_EQ(Fresh("SELECT count(*) FROM t"), "3200");
  EXPECT_EQ(Fresh("PRAGMA integrity_check"), "ok");
}

TEST_F(PageCacheTest, ARolledBackGrowthIsDroppedAndWhatFollowsReadsRight) {
  Commit(100, 1, 300);
  const PageCacheTruncations before = CountPageCacheTruncations();

  // A transaction that grows the store by thousands of pages, then is abandoned: SQLite's
  // cache must drop those pages, or the next growth would find their stale bytes.
  ASSERT_TRUE(writer_->Exec("BEGIN IMMEDIATE").ok());
  Insert(*writer_, 3000, 7, 3000);
  ASSERT_TRUE(writer_->Exec("ROLLBACK").ok());
  EXPECT_GT(CountPageCacheTruncations().passed_on, before.passed_on);

  Commit(2000, 2, 1000);
  const std::string sum = "SELECT count(*) || ' ' || sum(n) || ' ' || sum(length(body)) FROM t";
  EXPECT_EQ(One(*writer_, sum), "2100 4100 2030000");
  EXPECT_EQ(Fresh(sum), "2100 4100 2030000");
  EXPECT_EQ(Fresh("PRAGMA integrity_check"), "ok");
}

TEST_F(PageCacheTest, AReaderSeesEveryCommitOfAnotherConnection) {
  Commit(500, 0, 100);
  auto reader = Database::Open(path_, /*read_only=*/true);
  ASSERT_TRUE(reader.ok()) << reader.status().message();
  for (int round = 1; round <= 5; ++round) {
    // The reader's cache holds every page from its last read; the writer changes them all.
    ASSERT_EQ(One(**reader, "SELECT sum(n) FROM t"), std::to_string(500 * (round - 1)));
    ASSERT_TRUE(writer_->Exec("UPDATE t SET n = n + 1").ok());
    EXPECT_EQ(One(**reader, "SELECT sum(n) FROM t"), std::to_string(500 * round))
        << "round " << round;
  }
}

}  // namespace
}  // namespace dutyhub
