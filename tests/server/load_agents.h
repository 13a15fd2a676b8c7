// Many scripted WebSocket clients on one io_context, for the soak and crash tests: patients who
// ask questions and check the replies, and clients who misbehave on purpose (malformed frames,
// oversized frames, floods, connections dropped without a close).
//
//   e2e::AgentEnv env;                       // port, deadline, what to count
//   net::io_context ioc;
//   auto a = std::make_shared<e2e::Agent>(ioc, env, e2e::Behaviour::kPatient, seed);
//   a->Start();
//   ioc.run();                                // until every agent has stopped
//
// Every agent stops on its own once `env.deadline` has passed (a patient closes its
// conversation with a close frame) or once `env.stop` is set (for a killed server).
//
// Thread safety: none. Every agent of one AgentEnv runs on the same single-threaded io_context.
#ifndef BACKLINE_TESTS_SERVER_LOAD_AGENTS_H_
#define BACKLINE_TESTS_SERVER_LOAD_AGENTS_H_

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <utility>  // Boost 1.74's asio uses std::exchange without including it
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <nlohmann/json.hpp>

namespace backline::server::e2e {

namespace agents_net = boost::asio;
namespace agents_beast = boost::beast;

// A message a patient sends and what its reply must say, whatever came before in the
// conversation (red flags escalate from every state; full questions are answered from every
// state the patients' messages lead to).
struct ScriptedMessage {
  std::string text;
  std::string topic;    // expected "topic"
  std::string urgency;  // expected "urgency"
};

// What a patient sends: questions of the shipped content, misspelt or not, red flags, a negated
// red flag, small talk and a question the content cannot answer.
inline const std::vector<ScriptedMessage>& PatientMessages() {
  static const std::vector<ScriptedMessage> kMessages = {
      {"Is it safe to have a massage during chemotherapy?", "massage", "none"},
      {"Is it safe to take ibuprofen during chemo?", "nsaids", "none"},
      {"Is yoga safe if I have cancer in my spine?", "mind-body", "none"},
      {"can i take morfine with ibuprofin", "nsaids", "none"},
      {"I can't feel my legs and I've wet myself", "red-flag", "emergency"},
      {"my legs feel weak and wobbly since this morning", "red-flag", "emergency"},
      {"my dad is really drowsy and breathing slowly after his morphine", "red-flag", "emergency"},
      {"thanks that helps", "thanks", "none"},
      {"what is the capital of france", "out-of-scope", "none"},
  };
  return kMessages;
}

enum class Behaviour {
  kPatient,    // a message every few seconds; every reply checked; must never be dropped
  kMalformed,  // bad frames every few seconds; each must get its error; must never be dropped
  kOversized,  // a frame over the limit: closed with 1009, then reconnects
  kFlooder,    // messages as fast as it can: rate_limited, then closed with 1008; reconnects
  kAbrupt,     // sends a message and drops the TCP connection without a close; reconnects
  kFast,       // a patient without pauses (the crash test's load); records every reply
};

// A reply a client received: on record in the server's database, if the server kept its word.
struct AckedReply {
  std::string session;
  int64_t seq = 0;
  std::string text;
};

struct AgentEnv {
  unsigned short port = 0;
  std::chrono::steady_clock::time_point deadline;
  size_t frame_limit = 4096;  // the server's max_message_bytes
  int rate_limit = 30;        // the server's messages_per_minute
  bool stop = false;          // set when the server is gone: agents stop without reconnecting
  bool record_acks = false;

  // What happened, summed over all agents.
  int64_t connects = 0;
  int64_t connect_failures = 0;
  int64_t messages_sent = 0;  // patients' messages (kPatient, kFast)
  int64_t replies = 0;        // their replies
  int64_t wrong_replies = 0;  // a reply that did not say what it must
  int64_t malformed_sent = 0;
  int64_t malformed_answered = 0;  // with the expected error code
  int64_t oversized_sent = 0;
  int64_t closed_1009 = 0;
  int64_t floods = 0;
  int64_t rate_limited = 0;
  int64_t closed_1008 = 0;
  int64_t abrupt_drops = 0;
  int64_t dropped = 0;  // a patient or malformed client closed by the server or the network
  std::vector<std::string> failures;  // the first few, described
  std::vector<AckedReply> acked;

  void Fail(std::string what) {
    if (failures.size() < 20) failures.push_back(std::move(what));
  }
};

class Agent : public std::enable_shared_from_this<Agent> {
 public:
  Agent(agents_net::io_context& ioc, AgentEnv& env, Behaviour behaviour, unsigned seed)
      : ioc_(ioc), env_(env), behaviour_(behaviour), rng_(seed), timer_(ioc) {}

  void Start() { Connect(); }

 private:
  using tcp = agents_net::ip::tcp;
  using Ws = agents_beast::websocket::stream<agents_beast::tcp_stream>;
  using Clock = std::chrono::steady_clock;

  bool Over() const { return env_.stop || Clock::now() >= env_.deadline; }

  std::chrono::milliseconds Between(int lo_ms, int hi_ms) {
    return std::chrono::milliseconds(std::uniform_int_distribution<int>(lo_ms, hi_ms)(rng_));
  }

  // Runs `fn` after `delay` unless the run is over by then.
  void After(std::chrono::milliseconds delay, std::function<void()> fn) {
    timer_.expires_after(delay);
    timer_.async_wait([self = shared_from_this(), fn = std::move(fn)](agents_beast::error_code ec) {
      if (ec) return;
      fn();
    });
  }

  void Connect() {
    if (Over()) return;
    ++generation_;
    ws_ = std::make_unique<Ws>(ioc_);
    open_ = false;
    writing_ = false;
    outbox_.clear();
    awaiting_ = 0;
    auto& socket = agents_beast::get_lowest_layer(*ws_);
    socket.expires_after(std::chrono::seconds(10));
    const tcp::endpoint ep(agents_net::ip::make_address("127.0.0.1"), env_.port);
    socket.async_connect(ep, [self = shared_from_this(), gen = generation_](
                                 agents_beast::error_code ec) { self->OnConnect(gen, ec); });
  }

  void OnConnect(int gen, agents_beast::error_code ec) {
    if (gen != generation_) return;
    if (ec) return Reconnect("connect", ec);
    ws_->async_handshake("127.0.0.1", "/ws",
                         [self = shared_from_this(), gen](agents_beast::error_code hec) {
                           self->OnHandshake(gen, hec);
                         });
  }

  void OnHandshake(int gen, agents_beast::error_code ec) {
    if (gen != generation_) return;
    if (ec) return Reconnect("handshake", ec);
    agents_beast::get_lowest_layer(*ws_).expires_never();
    ++env_.connects;
    open_ = true;
    DoRead(gen);
  }

  // A failed connect or handshake: the server is overloaded or gone. Try again a little later.
  void Reconnect(const char* what, agents_beast::error_code ec) {
    if (Over()) return;
    ++env_.connect_failures;
    env_.Fail(std::string(what) + " failed: " + ec.message());
    After(Between(200, 600), [this]() { Connect(); });
  }

  void DoRead(int gen) {
    ws_->async_read(read_buffer_,
                    [self = shared_from_this(), gen](agents_beast::error_code ec, std::size_t) {
                      self->OnRead(gen, ec);
                    });
  }

  void OnRead(int gen, agents_beast::error_code ec) {
    if (gen != generation_) return;
    if (ec) return OnClosed(ec);
    std::string frame = agents_beast::buffers_to_string(read_buffer_.data());
    read_buffer_.consume(read_buffer_.size());
    OnFrame(nlohmann::json::parse(frame, nullptr, false));
    if (gen == generation_ && open_) DoRead(gen);
  }

  void Send(std::string frame, bool binary = false) {
    outbox_.push_back({std::move(frame), binary});
    if (!writing_) DoWrite(generation_);
  }

  void DoWrite(int gen) {
    if (outbox_.empty() || !open_) return;
    writing_ = true;
    ws_->binary(outbox_.front().binary);
    ws_->async_write(agents_net::buffer(outbox_.front().frame),
                     [self = shared_from_this(), gen](agents_beast::error_code ec, std::size_t) {
                       if (gen != self->generation_) return;
                       self->writing_ = false;
                       if (ec) return;  // the read side sees the close
                       self->outbox_.pop_front();
                       if (self->finishing_) {
                         self->finishing_ = false;
                         return self->Finish();
                       }
                       self->DoWrite(gen);
                     });
  }

  static std::string Message(const std::string& text) {
    return nlohmann::json{{"type", "message"}, {"text", text}}.dump();
  }

  // ---- what each behaviour does ----

  void OnFrame(const nlohmann::json& j) {
    const std::string type = j.is_object() ? j.value("type", "") : "";
    if (type == "welcome") {
      session_ = j.value("session", "");
      return Next();
    }
    switch (behaviour_) {
      case Behaviour::kPatient:
      case Behaviour::kFast:
        return OnPatientFrame(j, type);
      case Behaviour::kMalformed:
        if (type == "error" && j.value("code", "") == expected_error_) {
          ++env_.malformed_answered;
        } else {
          env_.Fail("malformed frame answered with " + j.dump());
        }
        return Next();
      case Behaviour::kFlooder:
        if (type == "error" && j.value("code", "") == "rate_limited") ++env_.rate_limited;
        return;
      case Behaviour::kOversized:
        env_.Fail("an oversized frame got a frame back: " + j.dump());
        return;
      case Behaviour::kAbrupt:
        return;
    }
  }

  void OnPatientFrame(const nlohmann::json& j, const std::string& type) {
    if (type != "reply" || awaiting_ == 0) {
      ++env_.wrong_replies;
      env_.Fail("a patient got an unexpected frame: " + j.dump());
      return;
    }
    --awaiting_;
    ++env_.replies;
    const ScriptedMessage& m = PatientMessages()[last_];
    if (j.value("topic", "") != m.topic || j.value("urgency", "") != m.urgency ||
        j.value("text", "").empty()) {
      ++env_.wrong_replies;
      env_.Fail("\"" + m.text + "\" got topic " + j.value("topic", "?") + ", urgency " +
                j.value("urgency", "?"));
    }
    if (env_.record_acks && j.contains("seq") && j["seq"].is_number_integer()) {
      env_.acked.push_back({session_, j["seq"].get<int64_t>(), j.value("text", "")});
    }
    Next();
  }

  // The next action of this behaviour, once the connection is open.
  void Next() {
    if (Over()) return Finish();
    switch (behaviour_) {
      case Behaviour::kPatient:
        // A person types a message every few seconds: well under 30 a minute.
        return After(Between(2500, 4500), [this]() { SendPatientMessage(); });
      case Behaviour::kFast:
        return SendPatientMessage();
      case Behaviour::kMalformed:
        return After(Between(2500, 4500), [this]() { SendMalformed(); });
      case Behaviour::kOversized:
        return After(Between(500, 2000), [this]() {
          if (Over()) return Finish();
          ++env_.oversized_sent;
          Send(Message(std::string(env_.frame_limit + 1, 'a')));
        });
      case Behaviour::kFlooder:
        return After(Between(500, 2000), [this]() {
          if (Over()) return Finish();
          ++env_.floods;
          // Past three times the per-minute limit the server closes the connection.
          for (int i = 0; i < 4 * env_.rate_limit + 10; ++i) Send(Message("hello?"));
        });
      case Behaviour::kAbrupt:
        return After(Between(100, 1500), [this]() {
          if (Over()) return Finish();
          Send(Message(PatientMessages()[0].text));
          After(Between(0, 50), [this]() { DropConnection(); });
        });
    }
  }

  void SendPatientMessage() {
    if (Over()) return Finish();
    last_ = std::uniform_int_distribution<size_t>(0, PatientMessages().size() - 1)(rng_);
    ++awaiting_;
    ++env_.messages_sent;
    Send(Message(PatientMessages()[last_].text));
  }

  void SendMalformed() {
    if (Over()) return Finish();
    ++env_.malformed_sent;
    switch (std::uniform_int_distribution<int>(0, 4)(rng_)) {
      case 0:
        expected_error_ = "invalid_json";
        return Send("{\"type\": \"message\", \"text\": ");
      case 1:
        expected_error_ = "unknown_type";
        return Send(R"({"type": "launch", "text": "x"})");
      case 2:
        expected_error_ = "bad_field";
        return Send(R"({"type": "message", "text": 42})");
      case 3:
        expected_error_ = "invalid_utf8";
        return Send(std::string("{\"type\": \"message\", \"text\": \"\xff\xfe\"}"), true);
      default:
        expected_error_ = "invalid_json";
        return Send("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[");
    }
  }

  // Resets the TCP connection without a WebSocket close, as a phone losing signal does.
  void DropConnection() {
    if (!open_) return;
    ++env_.abrupt_drops;
    open_ = false;
    ++generation_;
    agents_beast::error_code ignored;
    auto& socket = agents_beast::get_lowest_layer(*ws_).socket();
    socket.set_option(agents_net::socket_base::linger(true, 0), ignored);
    socket.close(ignored);
    After(Between(200, 800), [this]() { Connect(); });
  }

  void OnClosed(agents_beast::error_code ec) {
    open_ = false;
    const bool by_server = ec == agents_beast::websocket::error::closed;
    const auto code = by_server ? ws_->reason().code : 0;
    if (finishing_) return;  // our own close completed
    if (env_.stop) return;   // the server was killed
    switch (behaviour_) {
      case Behaviour::kOversized:
        if (code == agents_beast::websocket::close_code::too_big) {
          ++env_.closed_1009;
        } else {
          env_.Fail("oversized frame: closed with " + std::to_string(code) + " " + ec.message());
        }
        return After(Between(200, 800), [this]() { Connect(); });
      case Behaviour::kFlooder:
        if (code == agents_beast::websocket::close_code::policy_error) {
          ++env_.closed_1008;
        } else {
          env_.Fail("flood: closed with " + std::to_string(code) + " " + ec.message());
        }
        return After(Between(500, 1500), [this]() { Connect(); });
      default:
        ++env_.dropped;
        env_.Fail("a well-behaved connection was closed: " + std::to_string(code) + " " +
                  ec.message());
        return;
    }
  }

  // The run is over: close this conversation properly.
  void Finish() {
    if (finishing_ || !open_) return;
    finishing_ = true;
    // A close is a write: it waits for the write under way, and nothing queued follows it.
    if (writing_) {
      outbox_.erase(outbox_.begin() + 1, outbox_.end());
      return;
    }
    outbox_.clear();
    ws_->async_close(agents_beast::websocket::close_code::normal,
                     [self = shared_from_this()](agents_beast::error_code) {});
  }

  struct Outgoing {
    std::string frame;
    bool binary;
  };

  agents_net::io_context& ioc_;
  AgentEnv& env_;
  Behaviour behaviour_;
  std::mt19937 rng_;
  agents_net::steady_timer timer_;
  std::unique_ptr<Ws> ws_;
  agents_beast::flat_buffer read_buffer_;
  std::deque<Outgoing> outbox_;
  int generation_ = 0;  // completions of an earlier connection are ignored
  bool open_ = false;
  bool writing_ = false;
  bool finishing_ = false;
  int awaiting_ = 0;
  size_t last_ = 0;
  std::string session_;
  std::string expected_error_;
};

}  // namespace backline::server::e2e

#endif  // BACKLINE_TESTS_SERVER_LOAD_AGENTS_H_
