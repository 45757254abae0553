// What the project's SQLite VFS layers (wal_vfs, paced_vfs) share: a VFS that is the system's
// default in everything but xOpen, whose files hold the layer's own state first and the
// system's file after it, in the same memory SQLite allocates.
#pragma once

#include <sqlite3.h>

#include <cstddef>

namespace dutyhub {

// Where the system's file starts in a layered file whose own part is `layer_bytes`: after
// it, aligned for any object the system's file holds.
size_t SystemFileOffset(size_t layer_bytes);

// The system's default VFS with `name` and `open`, and files large enough for
// `layer_bytes` and the system's file, registered (not as the default) into `layer`, which
// must live as long as SQLite. Returns the system VFS every other method stays with, or
// nullptr when SQLite has none or refused the registration. Call once.
sqlite3_vfs* RegisterLayerOverSystemVfs(sqlite3_vfs& layer, const char* name, size_t layer_bytes,
                                        int (*open)(sqlite3_vfs*, sqlite3_filename, sqlite3_file*,
                                                    int, int*));

}  // namespace dutyhub
