// backline_insert_handoff DATABASE CLINIC REFERENCE [URGENCY [KIND]]: writes one escalation
// (a turn that raised a clinicians' page item, with consent and a two-line conversation) into
// a SQLite database, as another server sharing the database would. The browser test of
// web/clinic/ runs it beside a running `backline serve` to see the item appear live.
// Exit 0 once it is committed; 1 with the reason on stderr.
#include <chrono>
#include <future>
#include <iostream>
#include <string>

#include "store/sqlite_store.h"

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: backline_insert_handoff DATABASE CLINIC REFERENCE [URGENCY [KIND]]\n";
    return 1;
  }
  using namespace backline;
  auto store = store::SqliteStore::Open(argv[1]);
  if (!store.ok()) {
    std::cerr << store.status().ToString() << "\n";
    return 1;
  }
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  store::HandoffRecord item;
  item.reference = argv[3];
  item.clinic = argv[2];
  item.session_id = std::string("browser-test-") + argv[3];
  item.seq = 1;
  item.type = "escalation";
  item.urgency = argc > 4 ? argv[4] : "emergency";
  item.red_flag_kind = argc > 5 ? argv[5] : "E1";
  item.consent = true;
  item.created_ms = now;
  store::TurnRecord turn;
  turn.session_id = item.session_id;
  turn.seq = 1;
  turn.user_text = "my husband cannot feel his legs";
  turn.reply_text = "Call the emergency number now.";
  turn.urgency = item.urgency;
  turn.kind = "escalation";
  turn.received_ms = turn.replied_ms = now;
  turn.handoffs.push_back(item);
  store::SessionRecord session{item.session_id, item.clinic, "{}", now, now};
  std::promise<engine::Status> done;
  store.value()->AppendTurn(std::move(turn), std::move(session),
                            [&done](engine::Status s) { done.set_value(s); });
  const engine::Status s = done.get_future().get();
  if (!s.ok()) {
    std::cerr << s.ToString() << "\n";
    return 1;
  }
  return 0;
}
