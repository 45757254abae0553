// The broker's log on standard output when no person is watching it (a file, a pipe, the
// journal): lines gathered and written in one system call per reactor turn, not one each.
//
// Why: every confirmed request logs a line, and spdlog's console sinks flush each line
// with its own write(2): at 20,000 requests a second, about a sixth of the reactor's time.
//
// What must stay true:
// - A confirmation's line is written before its answer is sent: Server flushes the log
//   before it answers a finished batch (server.cc, OnWriteDone).
// - A warning or worse is written at once, with everything gathered before it.
// - Lines gathered are written at the end of every reactor turn (at most 100 ms), when
//   64 KB have gathered, and when the broker stops; a kill -9 loses at most that turn's
//   lines, none of them a confirmation's.
// Thread-safety: any thread may log and flush (spdlog's sink mutex).
#pragma once

namespace dutyhub {

// Makes the default logger gather its lines if standard output is not a terminal; on a
// terminal it stays as it was (colours, each line at once). Call once, early in main.
void GatherLogLinesUnlessOnATerminal();

// Writes out any lines gathered so far.
void FlushLog();

}  // namespace dutyhub
