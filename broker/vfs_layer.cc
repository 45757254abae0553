#include "broker/vfs_layer.h"

namespace dutyhub {

size_t SystemFileOffset(size_t layer_bytes) {
  const size_t align = alignof(std::max_align_t);
  return (layer_bytes + align - 1) / align * align;
}

sqlite3_vfs* RegisterLayerOverSystemVfs(sqlite3_vfs& layer, const char* name, size_t layer_bytes,
                                        int (*open)(sqlite3_vfs*, sqlite3_filename, sqlite3_file*,
                                                    int, int*)) {
  sqlite3_vfs* system = sqlite3_vfs_find(nullptr);
  if (system == nullptr) return nullptr;
  // Every other method is the system's own; their pAppData stays the system's, which is
  // what its methods expect of the VFS they are given.
  layer = *system;
  layer.zName = name;
  layer.pNext = nullptr;
  layer.szOsFile = static_cast<int>(SystemFileOffset(layer_bytes)) + system->szOsFile;
  layer.xOpen = open;
  return sqlite3_vfs_register(&layer, /*makeDflt=*/0) == SQLITE_OK ? system : nullptr;
}

}  // namespace dutyhub
