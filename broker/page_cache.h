// SQLite's own page cache behind a thin layer that answers, without asking it, a
// truncation that can drop no page.
//
// Why: at the end of every write transaction SQLite's pager truncates its page cache to the
// database's size. SQLite's cache skips that when it has never held a page numbered above
// the size. But a b-tree balance that puts its new pages in order swaps two of them through
// a spare number, the lock-byte page's (262,145 with 4 KB pages), and the cache keeps that
// number as the highest it has held until its next truncation. In a store under 1 GiB, that
// is above the size, so at the end of each transaction that split a page (most, with random
// ids) it walked its whole table: with the broker's 64 MB cache, a fifth of the writer's
// time per publish.
//
// What must stay true: a truncation is passed on whenever a page at or above its limit may
// be held. The layer keeps an upper bound on the numbers of the pages held: the highest
// fetched since the last truncation it passed on, and, apart, the few numbers pages were
// renamed to above that, until they are renamed away. Pages SQLite's cache recycles or
// discards on its own only leave the bound higher than it need be.
//
// Thread-safety: each cache belongs to one connection, used from one thread at a time, as
// SQLite's own caches are; the counts are atomic.
#pragma once

#include <cstdint>

namespace dutyhub {

// Puts the layer in front of SQLite's page cache for every connection opened after it.
// Safe to call from any thread, any number of times; the first call decides. False if
// SQLite had already started, in which case its own cache serves, unchanged.
bool UsePageCacheThatSkipsEmptyTruncations();

// How many truncations the layer passed on to SQLite's cache and answered itself, since
// the process started, across all connections: for tests and figures.
struct PageCacheTruncations {
  uint64_t passed_on = 0;
  uint64_t answered = 0;
};
PageCacheTruncations CountPageCacheTruncations();

}  // namespace dutyhub
