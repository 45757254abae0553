// A thin SQLite VFS over the system's own that gathers a transaction's writes to its
// write-ahead log and hands them to the kernel as one write.
//
// Why: SQLite writes every log frame as two system calls, a 24-byte header and the page,
// so a commit of a hundred pages is two hundred pwrite calls, each taking the file's lock
// and touching one or two page-cache pages. Gathered, the same bytes go in one call.
//
// What must stay true (DESIGN.md promise 1, confirmed means on disk):
// - Nothing SQLite has been told is written is ever lost before the kernel has it at the
//   moments that matter: the buffer is written out before every sync, read, size query,
//   truncation, file control and close of the log, before any write that does not follow
//   on from it, and as soon as a commit frame is complete. So the sync at a commit
//   (synchronous=FULL) still covers every frame of it, and another connection, which reads
//   the log through its own handle once the commit has updated the shared index, finds
//   every frame there.
// - A write that fails leaves nothing buffered to be written later, over frames SQLite has
//   since written again: the error goes to SQLite, which abandons the transaction.
// - Only the log is gathered; the database file and everything else go straight through.
//
// Thread-safety: each gathered file belongs to one connection, used from one thread at a
// time, as SQLite's own file handles are. Register once, before opening connections.
#pragma once

namespace dutyhub {

// The name to pass to sqlite3_open_v2 for a connection whose log writes are gathered.
// Registers the VFS on first use (thread-safe); nullptr if SQLite has no default VFS.
const char* GatheringWalVfs();

}  // namespace dutyhub
