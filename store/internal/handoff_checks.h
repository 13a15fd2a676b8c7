// The argument checks both stores make on the handoff records (store/store.h, issue 22), so
// that MemoryStore and SqliteStore refuse the same writes with the same code. Helper of
// store/; not for use outside it and its tests.
//
// Messages name the field, never its value: a reference or key could be typed by no one, but
// a name or a phone number could.
//
// Thread safety: may be called from any thread.
#ifndef BACKLINE_STORE_INTERNAL_HANDOFF_CHECKS_H_
#define BACKLINE_STORE_INTERNAL_HANDOFF_CHECKS_H_

#include <string_view>
#include <vector>

#include "engine/status.h"
#include "store/store.h"

namespace backline::store::internal {

// "new", "acknowledged", "called_back" or "closed".
bool IsHandoffStatus(std::string_view status);
// "pending", "delivered" or "failed".
bool IsDeliveryStatus(std::string_view status);

// kInvalidArgument ("<what>: ...") for an event with an empty key or clinic or an endpoint
// named twice, or two events with one key; else OK. Keys the store already has are the
// store's to check.
engine::Status CheckEvents(std::string_view what, const std::vector<EventRecord>& events);

// kInvalidArgument for an item with an empty reference or clinic or an unknown status, or two
// items with one reference; else OK.
engine::Status CheckHandoffs(std::string_view what, const std::vector<HandoffRecord>& handoffs);

}  // namespace backline::store::internal

#endif  // BACKLINE_STORE_INTERNAL_HANDOFF_CHECKS_H_
