// A thin SQLite VFS over the system's own for the checkpointer's connection: it hands the
// pages a checkpoint copies into the database file to the disk a little at a time, instead
// of all at its closing fsync.
//
// Why: a checkpoint after a burst copies up to 64 MiB into the database file's page cache
// and then syncs the file. The disk then holds all of it ahead of the next commit's sync of
// the log, so a request confirmed meanwhile waited tens of milliseconds (the p99.9 at 1,000
// a second). Here, after every kPacedBytes written, the kernel is asked to start writing
// them out (sync_file_range), once the previous piece has reached the disk: at most about
// two pieces are ever queued ahead of a commit. PostgreSQL's checkpoints do the same
// (checkpoint_flush_after).
//
// What must stay true (DESIGN.md promise 1): this only starts writes early. Every write
// still goes through the system's VFS, and SQLite's own sync of the file, after which it
// counts the pages copied, is unchanged. Waiting for earlier writes can be where the
// kernel reports one that failed, once per handle, so the sync after it would not: such a
// failure fails the write, and with it the checkpoint, which then counts nothing copied.
// Only the database file is paced; the log and everything else go straight through.
#pragma once

namespace dutyhub {

// The name to pass to sqlite3_open_v2 for a connection whose database writes are paced.
// Registers the VFS on first use (thread-safe); nullptr if SQLite has no default VFS.
const char* PacedDatabaseVfs();

// How many times, in this process, the kernel was asked to start writing a database file's
// pages early. Any thread; for tests.
long PacedWriteStarts();

// Starts the writes of database file `fd` early; 0, or -1 with errno set, as
// sync_file_range. Tests stand in for it to fail; nullptr puts sync_file_range back.
using WriteStarter = int (*)(int fd);
void StartWritesWithForTesting(WriteStarter starter);

}  // namespace dutyhub
