#include "store/internal/handoff_checks.h"

#include <set>
#include <string>

namespace backline::store::internal {

using engine::Status;

bool IsHandoffStatus(std::string_view status) {
  return status == "new" || status == "acknowledged" || status == "called_back" ||
         status == "closed";
}

bool IsDeliveryStatus(std::string_view status) {
  return status == "pending" || status == "delivered" || status == "failed";
}

Status CheckEvents(std::string_view what, const std::vector<EventRecord>& events) {
  const std::string prefix(what);
  std::set<std::string_view> keys;
  for (const EventRecord& e : events) {
    if (e.key.empty()) return Status::InvalidArgument(prefix + ": an event has no key");
    if (e.clinic.empty()) return Status::InvalidArgument(prefix + ": an event has no clinic");
    if (!keys.insert(e.key).second) {
      return Status::InvalidArgument(prefix + ": two events have one key");
    }
    std::set<std::string_view> endpoints;
    for (const std::string& endpoint : e.endpoints) {
      if (!endpoints.insert(endpoint).second) {
        return Status::InvalidArgument(prefix + ": an event names an endpoint twice");
      }
    }
  }
  return Status::Ok();
}

Status CheckHandoffs(std::string_view what, const std::vector<HandoffRecord>& handoffs) {
  const std::string prefix(what);
  std::set<std::string_view> references;
  for (const HandoffRecord& h : handoffs) {
    if (h.reference.empty()) {
      return Status::InvalidArgument(prefix + ": a handoff item has no reference");
    }
    if (h.clinic.empty()) return Status::InvalidArgument(prefix + ": a handoff item has no clinic");
    if (!IsHandoffStatus(h.status)) {
      return Status::InvalidArgument(prefix + ": a handoff item has an unknown status");
    }
    if (!references.insert(h.reference).second) {
      return Status::InvalidArgument(prefix + ": two handoff items have one reference");
    }
  }
  return Status::Ok();
}

}  // namespace backline::store::internal
