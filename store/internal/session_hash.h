// The form in which a deleted session's id is kept (its tombstone): SHA-256, so that the store
// keeps no usable id of a conversation once it is deleted. Helper of store/; not for use
// outside it and its tests.
//
// Thread safety: may be called from any thread.
#ifndef BACKLINE_STORE_INTERNAL_SESSION_HASH_H_
#define BACKLINE_STORE_INTERNAL_SESSION_HASH_H_

#include <string>
#include <string_view>

namespace backline::store::internal {

// The SHA-256 of `id`, as 64 lowercase hex digits.
std::string SessionIdHash(std::string_view id);

}  // namespace backline::store::internal

#endif  // BACKLINE_STORE_INTERNAL_SESSION_HASH_H_
