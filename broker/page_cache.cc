#include "broker/page_cache.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <new>

namespace dutyhub {
namespace {

// SQLite's own cache, copied before the layer takes its place.
sqlite3_pcache_methods2 g_own = {};
std::atomic<uint64_t> g_passed_on{0};
std::atomic<uint64_t> g_answered{0};

// One connection's cache. Bound() is never below the number of a page the cache holds.
struct LayeredCache {
  // Room for pages renamed above `fetched_max`: a balance parks one at a time.
  static constexpr int kRenamedRoom = 4;

  sqlite3_pcache* own = nullptr;
  // No page fetched since the last truncation passed on has a higher number.
  unsigned fetched_max = 0;
  // Numbers above `fetched_max` that pages were renamed to and may still hold.
  unsigned renamed[kRenamedRoom] = {};
  int renamed_count = 0;

  unsigned Bound() const {
    unsigned bound = fetched_max;
    for (int i = 0; i < renamed_count; ++i) bound = std::max(bound, renamed[i]);
    return bound;
  }
  void Forget(int i) { renamed[i] = renamed[--renamed_count]; }
};

LayeredCache* Of(sqlite3_pcache* p) { return reinterpret_cast<LayeredCache*>(p); }

int Init(void*) { return g_own.xInit == nullptr ? SQLITE_OK : g_own.xInit(g_own.pArg); }
void Shutdown(void*) {
  if (g_own.xShutdown != nullptr) g_own.xShutdown(g_own.pArg);
}

sqlite3_pcache* Create(int page_size, int extra_size, int purgeable) {
  auto* cache = new (std::nothrow) LayeredCache;
  if (cache == nullptr) return nullptr;
  cache->own = g_own.xCreate(page_size, extra_size, purgeable);
  if (cache->own == nullptr) {
    delete cache;
    return nullptr;
  }
  return reinterpret_cast<sqlite3_pcache*>(cache);
}

void Cachesize(sqlite3_pcache* p, int pages) { g_own.xCachesize(Of(p)->own, pages); }
int Pagecount(sqlite3_pcache* p) { return g_own.xPagecount(Of(p)->own); }

sqlite3_pcache_page* Fetch(sqlite3_pcache* p, unsigned key, int create) {
  LayeredCache* cache = Of(p);
  sqlite3_pcache_page* page = g_own.xFetch(cache->own, key, create);
  if (page != nullptr && key > cache->fetched_max) {
    cache->fetched_max = key;
    // A renamed number at or below the new bound need not be kept apart any more.
    for (int i = cache->renamed_count - 1; i >= 0; --i) {
      if (cache->renamed[i] <= key) cache->Forget(i);
    }
  }
  return page;
}

void Unpin(sqlite3_pcache* p, sqlite3_pcache_page* page, int discard) {
  g_own.xUnpin(Of(p)->own, page, discard);
}

void Rekey(sqlite3_pcache* p, sqlite3_pcache_page* page, unsigned old_key, unsigned new_key) {
  LayeredCache* cache = Of(p);
  g_own.xRekey(cache->own, page, old_key, new_key);
  for (int i = 0; i < cache->renamed_count; ++i) {
    if (cache->renamed[i] == old_key) {
      cache->Forget(i);
      break;
    }
  }
  if (new_key <= cache->fetched_max) return;
  if (cache->renamed_count < LayeredCache::kRenamedRoom) {
    cache->renamed[cache->renamed_count++] = new_key;
  } else {
    cache->fetched_max = new_key;  // no room: the bound stays high until a truncation
  }
}

void Truncate(sqlite3_pcache* p, unsigned limit) {
  LayeredCache* cache = Of(p);
  if (cache->Bound() < limit) {
    g_answered.fetch_add(1, std::memory_order_relaxed);
    return;  // no page at or above `limit` is held: nothing to drop
  }
  g_passed_on.fetch_add(1, std::memory_order_relaxed);
  g_own.xTruncate(cache->own, limit);
  cache->fetched_max = limit == 0 ? 0 : std::min(cache->fetched_max, limit - 1);
  for (int i = cache->renamed_count - 1; i >= 0; --i) {
    if (cache->renamed[i] >= limit) cache->Forget(i);
  }
}

void Destroy(sqlite3_pcache* p) {
  LayeredCache* cache = Of(p);
  g_own.xDestroy(cache->own);
  delete cache;
}

void Shrink(sqlite3_pcache* p) { g_own.xShrink(Of(p)->own); }

bool Install() {
  // Both calls are refused once SQLite has started; nothing has changed if the first is.
  if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &g_own) != SQLITE_OK) return false;
  if (g_own.iVersion < 1 || g_own.xCreate == nullptr || g_own.xTruncate == nullptr) return false;
  static sqlite3_pcache_methods2 layered = {
      /*iVersion=*/1, /*pArg=*/nullptr, Init,  Shutdown, Create,
      Cachesize,      Pagecount,        Fetch, Unpin,    Rekey,
      Truncate,       Destroy,          Shrink};
  return sqlite3_config(SQLITE_CONFIG_PCACHE2, &layered) == SQLITE_OK;
}

}  // namespace

bool UsePageCacheThatSkipsEmptyTruncations() {
  static const bool installed = Install();
  return installed;
}

PageCacheTruncations CountPageCacheTruncations() {
  return {g_passed_on.load(std::memory_order_relaxed), g_answered.load(std::memory_order_relaxed)};
}

}  // namespace dutyhub
