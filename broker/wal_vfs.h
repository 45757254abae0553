// A thin SQLite VFS over the system's own that gathers a transaction's writes to its
// write-ahead log and hands them to the kernel as one write.
//
// Why: SQLite writes every log frame as two system calls, a 24-byte header and the page,
// so a commit of a hundred pages is two hundred pwrite calls, each taking the file's lock
// and touching one or two page-cache pages. Gathered, the same bytes go in one call.
//
// What must stay true (DESIGN.md promise 1, confirmed means on disk):
// - Nothing SQLite has been told is written is missing from the kernel's view of the log
//   when it matters: the buffer is written out before every sync, read, size query,
//   truncation, file control and close of the log, and before any write that does not
//   follow on from it; and from a commit frame's header on (the commit frame, padding
//   frames, rewritten checksums) writes go straight through until the next transaction's
//   first frame. So a commit's sync (synchronous=FULL) covers every frame of it, and even
//   without a sync, another connection, told of a commit only after its commit frame is
//   written, finds every frame there.
// - A failed write-out never leaves bytes to be written later over frames SQLite has
//   written since; and if it failed where SQLite would not abandon the transaction (before
//   a read), it is reported as an I/O error, which does, and every write and sync fails
//   until SQLite starts writing again from before the lost bytes.
// - Only the log is gathered; the database file and everything else go straight through.
// Thread-safety: each gathered file belongs to one connection, used from one thread at a
// time, as SQLite's own file handles are. Register once, before opening connections.
#pragma once

namespace dutyhub {

// The name to pass to sqlite3_open_v2 for a connection whose log writes are gathered.
// Registers the VFS on first use (thread-safe); nullptr if SQLite has no default VFS.
const char* GatheringWalVfs();

}  // namespace dutyhub
