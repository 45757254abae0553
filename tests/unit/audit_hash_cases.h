#pragma once
// The audit rows whose hashes AuditHashTest pins, each with the exact text hashed: shared by
// the test and audit_hash_probe, which computes them again with libcrypto switched off.

#include <cstdint>
#include <string>
#include <vector>

namespace dutyhub {

struct AuditHashCase {
  std::string previous;
  int64_t seq;
  std::string delivery_id;
  int64_t at;
  int event;
  std::string by, inbox, note, via;
  std::string text;  // what must be hashed: each field "<length>:<value>;"
};

inline std::vector<AuditHashCase> AuditHashCases() {
  const std::string previous(32, '\x7f');
  return {
      {previous, 7, "d-1", 1700000000000, 2, "alice", "hv-north", "seen", "",
       "32:" + previous + ";1:7;3:d-1;13:1700000000000;1:2;5:alice;8:hv-north;4:seen;"},
      // The hub's own steps: no person, no note; and an empty first link.
      {"", 1, "d-2", -5, 1, "", "mash", "", "", "0:;1:1;3:d-2;2:-5;1:1;0:;4:mash;0:;"},
      // A gateway's action adds its name last.
      {previous, 12345, "d-3", 9, 4, "bob", "hv-south", "called mum", "dutyhub-web",
       "32:" + previous + ";5:12345;3:d-3;1:9;1:4;3:bob;8:hv-south;10:called mum;11:dutyhub-web;"},
  };
}

}  // namespace dutyhub
