// A SQLite VFS that hands a transaction's write-ahead log to the OS in a few
// large writes instead of two small ones per page.
//
// SQLite appends each page of a transaction to the "-wal" file as a frame: a
// 24-byte frame header, then the page, each with its own pwrite(). A group
// commit of about 25 turns wrote some 64 frames, so 128 system calls, and on a
// virtual machine each one is dear (bench/README.md). This VFS is the
// platform's default VFS with one difference: the writes SQLite makes to a WAL
// file, while each continues the one before, are gathered in memory and handed
// on in writes of up to 64 KiB (the largest SQLite itself makes, one page).
//
// Durability is unchanged: the gathered bytes reach the file before anything
// can depend on them.
//   - At the end of every commit: the frame that carries the commit mark (a
//     nonzero "database size" in its header, see the WAL format in
//     https://www.sqlite.org/fileformat2.html#walformat) is the transaction's
//     last, and the buffer is written as soon as its page is added. So a
//     committed transaction is in the file before SQLite syncs it (synchronous
//     = FULL) and before it publishes the commit to readers, whatever the
//     synchronous setting. If that write fails, the failure is the commit's:
//     SQLite rolls the transaction back, and nothing of it is published.
//   - Before a read that overlaps the gathered bytes, a sync, a truncate, a
//     size query, a file control, a memory map, and at close.
//   - Before a write that does not continue the run (SQLite rewrites a frame
//     in place, or restarts the log), and when the buffer holds 1 MiB.
// Database files, journals and temporary files are the default VFS's own.
//
// Thread safety: registration is safe from any thread. A file is used as SQLite
// uses it (one connection, or under SQLite's own locks).
#ifndef BACKLINE_STORE_INTERNAL_SQLITE_WAL_VFS_H_
#define BACKLINE_STORE_INTERNAL_SQLITE_WAL_VFS_H_

#include <cstddef>

#include "engine/status.h"

namespace backline::store::sqlite {

// The most bytes gathered before they are written.
inline constexpr size_t kWalBufferLimit = size_t{1} << 20;

// Registers (once) the batching VFS over the process's default VFS, as a VFS
// that is not the default, and returns its name for sqlite3_open_v2's zVfs.
// Fails (kUnavailable) only if SQLite has no default VFS or cannot register.
engine::StatusOr<const char*> WalBatchingVfs();

// For tests: registers a batching VFS named `name` over the registered VFS
// `base` (e.g. one that counts or fails writes). REQUIRES: `name` and `base`
// outlive every connection opened with it; `name` is not registered yet.
engine::Status RegisterWalBatchingVfs(const char* name, const char* base);

}  // namespace backline::store::sqlite

#endif  // BACKLINE_STORE_INTERNAL_SQLITE_WAL_VFS_H_
