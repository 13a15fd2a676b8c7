// Nothing acknowledged is lost: `backline serve` as a real process under load from many
// connections is killed with SIGKILL at a random moment, several times over one database.
// After each kill, every turn whose reply any client received must be in the database, as sent,
// the database must pass PRAGMA integrity_check, and the restarted server must resume those
// conversations where they stopped.
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include "tests/server/load_agents.h"
#include "tests/server/server_process.h"
#include "tests/server/ws_client.h"
#include "tests/support/build_paths.h"

namespace backline::server {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using e2e::AckedReply;
using e2e::Agent;
using e2e::AgentEnv;
using e2e::Behaviour;
using e2e::ServerProcess;
using e2e::WsClient;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

const std::string kRoot = build::kSourceDir;

class Database {
 public:
  explicit Database(const fs::path& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
      error_ = db_ ? sqlite3_errmsg(db_) : "out of memory";
    }
  }
  ~Database() { sqlite3_close(db_); }
  const std::string& error() const { return error_; }

  std::string IntegrityCheck() {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, "PRAGMA integrity_check", -1, &stmt, nullptr) != SQLITE_OK) {
      return sqlite3_errmsg(db_);
    }
    std::string result;
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      result += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return result;
  }

  // The stored reply of a turn, or nullopt.
  std::optional<std::string> Reply(const std::string& session, int64_t seq) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, "SELECT reply_text FROM turns WHERE session_id = ? AND seq = ?", -1,
                           &stmt, nullptr) != SQLITE_OK) {
      return std::nullopt;
    }
    sqlite3_bind_text(stmt, 1, session.c_str(), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(stmt, 2, seq);
    std::optional<std::string> out;
    if (sqlite3_step(stmt) == SQLITE_ROW) {
      out = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
    sqlite3_finalize(stmt);
    return out;
  }

  int64_t Count(const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) return -1;
    int64_t n = -1;
    if (sqlite3_step(stmt) == SQLITE_ROW) n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
  }

 private:
  sqlite3* db_ = nullptr;
  std::string error_;
};

// The clients here send as fast as the server answers: far past the per-connection rate limit
// that protects a real server, and all from one address: both limits are raised in `config`.
std::vector<std::string> ServerArgs(const fs::path& config, const fs::path& db) {
  return {"--config",  config.string(),
          "--port",    "0",
          "--threads", "2",
          "--db",      db.string(),
          "--kb",      kRoot + "/knowledge",
          "--dialogs", kRoot + "/dialogs"};
}

TEST(CrashTest, SigkillUnderLoadNeverLosesAnAcknowledgedTurn) {
  const fs::path dir = fs::temp_directory_path() / ("backline-crash-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const fs::path db = dir / "crash.db";
  const fs::path config = dir / "config.json";
  {
    std::ofstream out(config);
    // Every client here is 127.0.0.1: the per-address limits are lifted with the others.
    out << json{{"limits",
                 {{"messages_per_minute", 1000000},
                  {"connections_per_address", 100},
                  {"address_messages_per_minute", 100000000},
                  {"address_turns_per_day", 100000000},
                  {"address_bytes_per_day", 100000000000},
                  {"address_unanswered_per_day", 100000000},
                  {"address_feedback_per_day", 100000000}}}}
               .dump();
  }
  std::mt19937 rng(std::random_device{}());
  constexpr int kRounds = 5;
  constexpr int kClients = 32;
  int64_t total_acked = 0;

  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ServerProcess server(build::kBacklineBinary, ServerArgs(config, db));
    ASSERT_TRUE(server.started());
    const unsigned short port = server.WaitForPort(20s);
    ASSERT_NE(port, 0) << server.Stderr();

    AgentEnv env;
    env.port = port;
    env.record_acks = true;
    env.deadline = Clock::now() + 60s;  // the kill comes long before
    boost::asio::io_context ioc;
    std::vector<std::shared_ptr<Agent>> agents;
    for (int i = 0; i < kClients; ++i) {
      agents.push_back(std::make_shared<Agent>(ioc, env, Behaviour::kFast, rng()));
      agents.back()->Start();
    }
    // The clients' io_context runs on this thread until the kill; the kill happens between
    // two of its handlers, so no reply can be half-recorded.
    const auto kill_at = Clock::now() + std::chrono::milliseconds(
                                            std::uniform_int_distribution<int>(300, 1500)(rng));
    boost::asio::steady_timer killer(ioc);
    killer.expires_at(kill_at);
    killer.async_wait([&](boost::system::error_code) {
      server.Signal(SIGKILL);
      env.stop = true;
      ioc.stop();
    });
    ioc.run();
    const std::optional<int> status = server.Wait(10s);
    ASSERT_TRUE(status.has_value());
    ASSERT_TRUE(WIFSIGNALED(*status) && WTERMSIG(*status) == SIGKILL);
    ASSERT_GT(env.acked.size(), 0u) << "no reply arrived before the kill";
    EXPECT_EQ(env.wrong_replies, 0);
    for (const std::string& f : env.failures) ADD_FAILURE() << f;
    total_acked += static_cast<int64_t>(env.acked.size());

    // Every reply a client received is a committed turn, with the text the client saw. (The
    // database is read as left by the kill, before any restart could repair it.)
    {
      Database d(db);
      ASSERT_EQ(d.error(), "");
      EXPECT_EQ(d.IntegrityCheck(), "ok");
      int64_t missing = 0;
      for (const AckedReply& a : env.acked) {
        const std::optional<std::string> stored = d.Reply(a.session, a.seq);
        if (!stored) {
          if (++missing <= 5) {
            ADD_FAILURE() << "acknowledged turn " << a.session << " #" << a.seq
                          << " is not in the database";
          }
        } else {
          EXPECT_EQ(*stored, a.text) << a.session << " #" << a.seq;
        }
      }
      EXPECT_EQ(missing, 0) << "of " << env.acked.size() << " acknowledged turns";
      EXPECT_GE(d.Count("SELECT COUNT(*) FROM turns"), total_acked);
    }
    std::cout << "round " << round << ": killed after " << env.acked.size()
              << " acknowledged replies from " << kClients << " clients" << std::endl;

    // Restarted, the server resumes a conversation of this round where it stopped.
    std::map<std::string, int64_t> last_seq;
    for (const AckedReply& a : env.acked) {
      last_seq[a.session] = std::max(last_seq[a.session], a.seq);
    }
    ServerProcess again(build::kBacklineBinary, ServerArgs(config, db));
    ASSERT_TRUE(again.started());
    const unsigned short port2 = again.WaitForPort(20s);
    ASSERT_NE(port2, 0) << again.Stderr();
    const auto& [session, seq] = *last_seq.begin();
    WsClient c;
    ASSERT_TRUE(c.Connect(port2, e2e::WithTarget("/ws?session=" + session))) << c.Describe();
    json welcome = c.ReadJson();
    EXPECT_EQ(welcome.value("resumed", false), true) << welcome.dump();
    ASSERT_TRUE(c.Send(json{{"type", "message"}, {"text", "thanks that helps"}}.dump()));
    json reply = c.ReadJson();
    // The next turn follows the last committed one: at least the last acknowledged one (a
    // turn committed but not yet sent when the server died is on record too).
    EXPECT_GT(reply.value("seq", int64_t{0}), seq) << reply.dump();
    again.Signal(SIGTERM);
    ASSERT_TRUE(again.Wait(15s).has_value());
  }
  std::cout << kRounds << " kills, " << total_acked << " acknowledged turns, none lost"
            << std::endl;
  std::error_code ec;
  fs::remove_all(dir, ec);
}

}  // namespace
}  // namespace backline::server
