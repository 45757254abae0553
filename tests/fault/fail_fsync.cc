// An injected fault for the fault tests, never linked into dutyhub: preloaded into the
// broker (LD_PRELOAD), it makes fsync and fdatasync fail with EIO for as long as the file
// named by DUTYHUB_FAIL_FSYNC_WHEN exists, as a failing disk would. Otherwise it passes
// every call through.
#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

namespace {

bool Armed() {
  const char* trigger = std::getenv("DUTYHUB_FAIL_FSYNC_WHEN");
  return trigger != nullptr && access(trigger, F_OK) == 0;
}

using SyncFunction = int (*)(int);

SyncFunction Real(const char* name) {
  return reinterpret_cast<SyncFunction>(dlsym(RTLD_NEXT, name));
}

}  // namespace

extern "C" int fsync(int fd) {
  static SyncFunction real = Real("fsync");
  if (Armed()) {
    errno = EIO;
    return -1;
  }
  return real(fd);
}

extern "C" int fdatasync(int fd) {
  static SyncFunction real = Real("fdatasync");
  if (Armed()) {
    errno = EIO;
    return -1;
  }
  return real(fd);
}
