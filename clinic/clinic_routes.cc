#include "clinic/clinic_routes.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <utility>

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "server/route_helpers.h"
#include "server/routes.h"
#include "server/sign_in.h"
#include "server/util.h"

namespace backline::clinic {
namespace {

namespace http = boost::beast::http;
using json = nlohmann::json;
using server::NowMs;
using Request = server::HttpRequest;
using Response = server::HttpResponse;
using Responder = std::function<void(Response)>;

constexpr const char* kCookie = "backline_clinic";
constexpr const char* kCookiePath = "/clinic";
constexpr const char* kApi = "/clinic/api/";
// The page's files: no inline script or style, nothing from elsewhere, not framed (the
// curator page's policy).
constexpr const char* kPolicy =
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
// Items read to find one by id (the store lists items, newest first): a clinic's open and
// recent items are far fewer.
constexpr size_t kLookupLimit = 1000;
// Items compared per clinic for the event stream: new ones are the newest, so they are
// always among these.
constexpr size_t kWatchLimit = 500;
// Turns of a conversation shown with an item.
constexpr size_t kConversationTurns = 50;
// Event streams per clinician session (tabs): a loop that reopens them cannot pile them up.
constexpr size_t kStreamsPerSession = 8;
constexpr const char* kStatuses[] = {"new", "acknowledged", "called_back", "closed"};

bool IsStatus(const std::string& s) {
  return std::find(std::begin(kStatuses), std::end(kStatuses), s) != std::end(kStatuses);
}

Response Error(http::status status, const std::string& code, const std::string& message,
               const Request& req) {
  return server::JsonResponse(status, {{"error", code}, {"message", message}}, req);
}

http::status HttpStatusFor(const engine::Status& s) {
  switch (s.code()) {
    case engine::Status::Code::kNotFound:
      return http::status::not_found;
    case engine::Status::Code::kInvalidArgument:
      return http::status::bad_request;
    case engine::Status::Code::kUnavailable:
      return http::status::service_unavailable;
    default:
      return http::status::internal_server_error;
  }
}

// An item as the page sees it: the personal fields only with consent, never the session id
// (it would let its holder resume the conversation).
json ItemJson(const store::HandoffRecord& h) {
  json j = {{"id", h.id},
            {"reference", h.reference},
            {"type", h.type},
            {"urgency", h.urgency},
            {"red_flag_kind", h.red_flag_kind},
            {"created_ms", h.created_ms},
            {"consent", h.consent},
            {"status", h.status},
            {"status_by", h.status_by},
            {"status_ms", h.status_ms}};
  if (h.consent) {
    j["first_name"] = h.first_name;
    j["phone"] = h.phone;
    j["best_time"] = h.best_time;
  }
  return j;
}

// What a signed-in clinician is.
struct Clinician {
  std::string session_id;
  std::string name;
  std::string clinic;
  std::string role;
  int64_t expires_ms = 0;
};

class ClinicRoute;

// The event streams of open pages, by clinic, and the one loop that reads the store for
// them. Thread safety: any thread (one mutex).
class Watcher {
 public:
  Watcher(ClinicRoute* route, ClinicRouteOptions options) : route_(route), options_(options) {}

  // Adds an open stream of `clinician`'s page; starts the loop if it is not running.
  // False when the session has too many streams already.
  bool Add(const std::shared_ptr<server::RouteHost>& host, const Clinician& clinician,
           std::shared_ptr<server::ResponseStream> stream);

 private:
  struct Listener {
    std::shared_ptr<server::ResponseStream> stream;
    std::string session_id;
    int64_t last_write_ms = 0;
  };
  struct ClinicWatch {
    std::vector<Listener> listeners;
    bool baseline = false;                                     // `known` has been read once
    std::map<int64_t, std::pair<std::string, int64_t>> known;  // id -> status, status_ms
  };

  void Poll(std::weak_ptr<server::RouteHost> weak_host);
  void OnItems(const std::string& clinic, engine::StatusOr<std::vector<store::HandoffRecord>> r);
  void PassDone(std::weak_ptr<server::RouteHost> weak_host);
  static void Send(Listener& l, const std::string& data, int64_t now_ms);

  ClinicRoute* const route_;  // owns this
  const ClinicRouteOptions options_;
  std::mutex mu_;
  std::map<std::string, ClinicWatch> clinics_;
  bool polling_ = false;
  int pending_reads_ = 0;
};

class ClinicRoute : public server::Route, public std::enable_shared_from_this<ClinicRoute> {
 public:
  ClinicRoute(const server::ClinicianSettings& settings, StatusEvents events,
              ClinicRouteOptions options)
      : auth(Accounts(settings),
             server::SignInPolicy{settings.session_seconds, settings.login_attempts,
                                  settings.login_window_seconds}),
        accounts(settings.accounts),
        status_events(std::move(events)),
        watcher(this, options) {}

  bool Matches(std::string_view path) const override { return IsClinicPath(path); }
  void Handle(std::shared_ptr<server::RouteHost> host, Request request, std::string address,
              Responder respond) override {
    HandleStreaming(std::move(host), std::move(request), std::move(address), std::move(respond),
                    nullptr);
  }
  void HandleStreaming(std::shared_ptr<server::RouteHost> host, Request request,
                       std::string address, Responder respond,
                       server::StreamOpener open_stream) override;

  // The clinician of a session, or nullopt when it is unknown or has ended.
  std::optional<Clinician> Find(const std::string& session_id) {
    auto s = auth.Find(session_id, NowMs());
    if (!s) return std::nullopt;
    const auto& a = accounts[s->account];
    return Clinician{session_id, a.name, a.clinic, a.role, s->expires_ms};
  }

  server::TokenSignIn auth;
  const std::vector<server::ClinicianAccount> accounts;  // as indexed by `auth`
  const StatusEvents status_events;
  Watcher watcher;

 private:
  static std::vector<server::TokenSignIn::Account> Accounts(const server::ClinicianSettings& s) {
    std::vector<server::TokenSignIn::Account> out;
    for (const auto& a : s.accounts) out.push_back({a.name, a.token});
    return out;
  }
};

// ---- the event streams ---------------------------------------------------------------------

void Watcher::Send(Listener& l, const std::string& data, int64_t now_ms) {
  if (l.stream->Write(data)) l.last_write_ms = now_ms;
}

bool Watcher::Add(const std::shared_ptr<server::RouteHost>& host, const Clinician& clinician,
                  std::shared_ptr<server::ResponseStream> stream) {
  std::lock_guard<std::mutex> lock(mu_);
  ClinicWatch& w = clinics_[clinician.clinic];
  std::erase_if(w.listeners, [](const Listener& l) { return l.stream->ended(); });
  const auto same_session =
      std::count_if(w.listeners.begin(), w.listeners.end(),
                    [&](const Listener& l) { return l.session_id == clinician.session_id; });
  if (static_cast<size_t>(same_session) >= kStreamsPerSession) return false;
  Listener l{std::move(stream), clinician.session_id, 0};
  const int64_t now = NowMs();
  // The browser reconnects 5 s after a drop; the page reloads its list on "ready".
  Send(l, ": backline clinic events\nretry: 5000\n\n", now);
  if (w.baseline) Send(l, "event: ready\ndata: {}\n\n", now);
  w.listeners.push_back(std::move(l));
  if (!polling_) {
    polling_ = true;
    std::weak_ptr<server::RouteHost> weak_host = host;
    std::weak_ptr<ClinicRoute> weak_route = route_->shared_from_this();
    host->RunInBackground([weak_route, weak_host]() {
      if (auto route = weak_route.lock()) route->watcher.Poll(weak_host);
    });
  }
  return true;
}

// One pass: ends the streams of sessions that ended, keeps quiet streams alive, and reads
// each watched clinic's items once; the next pass is scheduled when every read has answered.
void Watcher::Poll(std::weak_ptr<server::RouteHost> weak_host) {
  auto host = weak_host.lock();
  std::vector<std::string> clinics;
  {
    std::lock_guard<std::mutex> lock(mu_);
    const int64_t now = NowMs();
    for (auto it = clinics_.begin(); it != clinics_.end();) {
      auto& listeners = it->second.listeners;
      for (auto& l : listeners) {
        if (l.stream->ended()) continue;
        if (!route_->Find(l.session_id)) {
          Send(l, "event: signed_out\ndata: {}\n\n", now);
          l.stream->End();
        } else if (now - l.last_write_ms >= options_.keep_alive.count()) {
          Send(l, ": keep-alive\n\n", now);
        }
      }
      std::erase_if(listeners, [](const Listener& l) { return l.stream->ended(); });
      if (listeners.empty()) {
        it = clinics_.erase(it);  // its snapshot goes too: a new page starts afresh
      } else {
        clinics.push_back(it->first);
        ++it;
      }
    }
    if (!host || clinics.empty()) {
      polling_ = false;
      return;
    }
    pending_reads_ = static_cast<int>(clinics.size());
  }
  // Each read's callback holds the route (the store's callbacks all run, even as it closes).
  auto self = route_->shared_from_this();
  for (const auto& clinic : clinics) {
    store::HandoffFilter filter;
    filter.clinic = clinic;
    filter.limit = kWatchLimit;
    host->ConversationStore().Handoffs(
        filter, [self, clinic, weak_host](engine::StatusOr<std::vector<store::HandoffRecord>> r) {
          self->watcher.OnItems(clinic, std::move(r));
          self->watcher.PassDone(weak_host);
        });
  }
}

void Watcher::OnItems(const std::string& clinic,
                      engine::StatusOr<std::vector<store::HandoffRecord>> r) {
  if (!r.ok()) return;  // the next pass tries again
  std::lock_guard<std::mutex> lock(mu_);
  auto it = clinics_.find(clinic);
  if (it == clinics_.end()) return;
  ClinicWatch& w = it->second;
  std::map<int64_t, std::pair<std::string, int64_t>> now_known;
  json added = json::array(), changed = json::array();
  for (const auto& h : r.value()) {
    now_known[h.id] = {h.status, h.status_ms};
    auto k = w.known.find(h.id);
    if (k == w.known.end()) {
      added.push_back(ItemJson(h));
    } else if (k->second != now_known[h.id]) {
      changed.push_back(h.id);
    }
  }
  // Gone from the store (the conversation was deleted, or retention): a change too, unless
  // the read was cut at its limit (then an old item merely fell off its end).
  if (r.value().size() < kWatchLimit) {
    for (const auto& [id, state] : w.known) {
      if (!now_known.count(id)) changed.push_back(id);
    }
  }
  const int64_t now = NowMs();
  if (!w.baseline) {
    w.baseline = true;
    for (auto& l : w.listeners) Send(l, "event: ready\ndata: {}\n\n", now);
  } else if (!added.empty() || !changed.empty()) {
    const std::string data = "event: change\ndata: " +
                             json{{"new", std::move(added)}, {"changed", std::move(changed)}}.dump(
                                 -1, ' ', false, json::error_handler_t::replace) +
                             "\n\n";
    for (auto& l : w.listeners) Send(l, data, now);
  }
  w.known = std::move(now_known);
}

void Watcher::PassDone(std::weak_ptr<server::RouteHost> weak_host) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (--pending_reads_ > 0) return;
  }
  auto host = weak_host.lock();
  if (!host) {
    std::lock_guard<std::mutex> lock(mu_);
    polling_ = false;
    return;
  }
  auto self = route_->shared_from_this();
  std::weak_ptr<ClinicRoute> weak_route = self;
  host->RunInBackgroundAfter(options_.poll_interval, [weak_route, weak_host]() {
    if (auto route = weak_route.lock()) route->watcher.Poll(weak_host);
  });
}

// ---- the API -------------------------------------------------------------------------------

class Call : public std::enable_shared_from_this<Call> {
 public:
  Call(std::shared_ptr<server::RouteHost> host, std::shared_ptr<ClinicRoute> route, Request req,
       std::string address, Responder respond, server::StreamOpener open_stream)
      : host_(std::move(host)),
        route_(std::move(route)),
        req_(std::move(req)),
        address_(std::move(address)),
        respond_(std::move(respond)),
        open_stream_(std::move(open_stream)) {}

  void Run();

 private:
  void Reply(Response res) { respond_(std::move(res)); }
  void Fail(http::status status, const std::string& code, const std::string& message) {
    Reply(Error(status, code, message, req_));
  }
  void FromStatus(const engine::Status& s) {
    Fail(HttpStatusFor(s), s.code() == engine::Status::Code::kNotFound ? "not_found" : "error",
         s.message());
  }
  void MethodNotAllowed(const char* allowed) {
    Response res = Error(http::status::method_not_allowed, "method",
                         std::string("Use ") + allowed + " here.", req_);
    res.set(http::field::allow, allowed);
    Reply(std::move(res));
  }

  void Page(const std::string& path);
  void Login();
  void Logout();
  void Me();
  void Items();
  void Conversation(int64_t id);
  void SetStatus(int64_t id);
  void Failed();
  void Events();
  // Finds item `id` of the clinician's clinic; `found` gets it, or nullopt (no such item in
  // this clinic), or the store's error.
  void FindItem(int64_t id,
                std::function<void(engine::StatusOr<std::optional<store::HandoffRecord>>)> found);

  std::shared_ptr<server::RouteHost> host_;
  std::shared_ptr<ClinicRoute> route_;
  Request req_;
  std::string address_;
  Responder respond_;
  server::StreamOpener open_stream_;
  Clinician who_;
};

void Call::Page(const std::string& path) {
  if (req_.method() != http::verb::get && req_.method() != http::verb::head) {
    return MethodNotAllowed("GET, HEAD");
  }
  if (path == "/clinic") {
    Response res = server::NoStoreResponse(http::status::moved_permanently, req_);
    res.set(http::field::location, "/clinic/");
    return Reply(std::move(res));
  }
  std::string file = path;
  if (file.back() == '/') file += "index.html";
  const bool plain = file.find('%') == std::string::npos && file.find('\\') == std::string::npos &&
                     file.find("/.") == std::string::npos;
  const auto f = plain ? host_->FindWebFile(file) : nullptr;
  if (!f) return Fail(http::status::not_found, "not_found", "No such page.");
  Response res = server::NoStoreResponse(http::status::ok, req_);
  res.set(http::field::content_type, f->content_type);
  res.set("Content-Security-Policy", kPolicy);
  res.set("X-Frame-Options", "DENY");
  if (req_.method() == http::verb::head) {
    res.content_length(f->body.size());
  } else {
    res.body() = f->body;
  }
  Reply(std::move(res));
}

std::string ClinicName(const server::RouteHost& host, const std::string& id) {
  if (auto content = host.CurrentContent()) {
    for (const auto& c : content->clinics) {
      if (c.id == id) return c.name;
    }
  }
  return id;
}

void Call::Login() {
  if (auto problem = server::CsrfProblem(req_)) {
    return Fail(http::status::forbidden, "csrf", *problem);
  }
  const json body = json::parse(req_.body(), nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.value("token", json()).is_string() ||
      body["token"].get<std::string>().empty()) {
    return Fail(http::status::bad_request, "bad_request", "Send {\"token\": \"...\"}.");
  }
  const auto login = route_->auth.SignIn(address_, body["token"].get<std::string>(), NowMs());
  switch (login.result) {
    case server::TokenSignIn::LoginResult::kTooManyAttempts: {
      const int64_t seconds = (login.retry_after_ms + 999) / 1000;
      host_->Log("warn", "clinician login refused for " + address_ + ": too many failed attempts");
      Response res = Error(http::status::too_many_requests, "too_many_attempts",
                           "Too many failed sign-ins from this address. Try again in " +
                               std::to_string((seconds + 59) / 60) + " minute(s).",
                           req_);
      res.set(http::field::retry_after, std::to_string(seconds));
      return Reply(std::move(res));
    }
    case server::TokenSignIn::LoginResult::kWrongToken:
      host_->Log("warn", "clinician login failed from " + address_);
      return Fail(http::status::unauthorized, "wrong_token", "That token is not right.");
    case server::TokenSignIn::LoginResult::kOk:
      break;
  }
  const auto& account = route_->accounts[login.account];
  host_->Log("info", "clinician signed in: " + account.name + " (" + account.clinic + ")");
  const int64_t expires = NowMs() + route_->auth.session_ms();
  Response res = server::JsonResponse(http::status::ok,
                                      {{"name", account.name},
                                       {"clinic", account.clinic},
                                       {"clinic_name", ClinicName(*host_, account.clinic)},
                                       {"role", account.role},
                                       {"expires_ms", expires}},
                                      req_);
  res.set(http::field::set_cookie,
          server::SessionCookie(kCookie, kCookiePath, login.session_id,
                                route_->auth.session_ms() / 1000, host_->Configuration().tls()));
  Reply(std::move(res));
}

void Call::Logout() {
  route_->auth.SignOut(who_.session_id);
  Response res = server::JsonResponse(http::status::ok, {{"signed_out", true}}, req_);
  res.set(http::field::set_cookie,
          server::SessionCookie(kCookie, kCookiePath, "", 0, host_->Configuration().tls()));
  Reply(std::move(res));
}

void Call::Me() {
  Reply(server::JsonResponse(http::status::ok,
                             {{"name", who_.name},
                              {"clinic", who_.clinic},
                              {"clinic_name", ClinicName(*host_, who_.clinic)},
                              {"role", who_.role},
                              {"expires_ms", who_.expires_ms}},
                             req_));
}

void Call::Items() {
  const auto q = server::QueryParams(std::string(req_.target()));
  const std::string status = q.count("status") ? q.at("status") : "open";
  if (status != "open" && status != "all" && !IsStatus(status)) {
    return Fail(http::status::bad_request, "bad_request",
                "status must be open, all, new, acknowledged, called_back or closed.");
  }
  store::HandoffFilter base;
  base.clinic = who_.clinic;
  base.since_ms = server::QueryNumber(q, "since", 0, INT64_MAX / 2);
  base.until_ms = server::QueryNumber(q, "until", 0, INT64_MAX / 2);
  base.limit = static_cast<size_t>(server::QueryNumber(q, "limit", 200, 1000));
  std::vector<std::string> statuses;
  if (status == "open") {
    statuses = {"new", "acknowledged", "called_back"};
  } else {
    statuses = {status == "all" ? std::string() : status};
  }
  // One read per status, merged newest first (the store orders each by created_ms, then id).
  struct Merge {
    std::mutex mu;
    int pending = 0;
    std::vector<store::HandoffRecord> items;
    engine::Status error = engine::Status::Ok();
  };
  auto merge = std::make_shared<Merge>();
  merge->pending = static_cast<int>(statuses.size());
  auto self = shared_from_this();
  const size_t limit = base.limit;
  for (const auto& s : statuses) {
    store::HandoffFilter f = base;
    f.status = s;
    host_->ConversationStore().Handoffs(f, [self, merge, limit](
                                               engine::StatusOr<std::vector<store::HandoffRecord>>
                                                   r) {
      std::unique_lock<std::mutex> lock(merge->mu);
      if (r.ok()) {
        for (auto& h : r.value()) merge->items.push_back(std::move(h));
      } else {
        merge->error = r.status();
      }
      if (--merge->pending > 0) return;
      lock.unlock();
      if (!merge->error.ok()) return self->FromStatus(merge->error);
      auto& items = merge->items;
      std::sort(items.begin(), items.end(), [](const auto& a, const auto& b) {
        return a.created_ms != b.created_ms ? a.created_ms > b.created_ms : a.id > b.id;
      });
      if (items.size() > limit) items.resize(limit);
      json out = json::array();
      for (const auto& h : items) out.push_back(ItemJson(h));
      self->Reply(server::JsonResponse(http::status::ok, {{"items", std::move(out)}}, self->req_));
    });
  }
}

void Call::FindItem(
    int64_t id, std::function<void(engine::StatusOr<std::optional<store::HandoffRecord>>)> found) {
  store::HandoffFilter f;
  f.clinic = who_.clinic;
  f.limit = kLookupLimit;
  host_->ConversationStore().Handoffs(
      f, [id, found = std::move(found)](engine::StatusOr<std::vector<store::HandoffRecord>> r) {
        if (!r.ok()) return found(r.status());
        for (auto& h : r.value()) {
          if (h.id == id) return found(std::optional<store::HandoffRecord>(std::move(h)));
        }
        found(std::optional<store::HandoffRecord>());
      });
}

void Call::Conversation(int64_t id) {
  auto self = shared_from_this();
  FindItem(id, [self](engine::StatusOr<std::optional<store::HandoffRecord>> item) {
    if (!item.ok()) return self->FromStatus(item.status());
    if (!item.value()) {
      return self->Fail(http::status::not_found, "not_found", "No such item in your clinic.");
    }
    const store::HandoffRecord& h = *item.value();
    if (!h.consent) {
      // Nothing of the conversation leaves the server without the person's consent.
      return self->Reply(server::JsonResponse(http::status::ok, {{"shared", false}}, self->req_));
    }
    self->host_->ConversationStore().RecentTurns(
        h.session_id, kConversationTurns,
        [self](engine::StatusOr<std::vector<store::TurnRecord>> turns) {
          if (!turns.ok()) return self->FromStatus(turns.status());
          json out = json::array();
          for (const auto& t : turns.value()) {
            out.push_back({{"seq", t.seq},
                           {"user_text", t.user_text},
                           {"reply_text", t.reply_text},
                           {"urgency", t.urgency},
                           {"kind", t.kind},
                           {"at_ms", t.received_ms}});
          }
          self->Reply(server::JsonResponse(
              http::status::ok, {{"shared", true}, {"turns", std::move(out)}}, self->req_));
        });
  });
}

void Call::SetStatus(int64_t id) {
  if (who_.role != "clinician") {
    return Fail(http::status::forbidden, "role",
                "Your role (" + who_.role + ") may see the items but not change them.");
  }
  const json body = json::parse(req_.body(), nullptr, false);
  const json status = body.is_object() ? body.value("status", json()) : json();
  if (!status.is_string() || !IsStatus(status.get<std::string>()) || status == "new") {
    return Fail(http::status::bad_request, "bad_request",
                "Send {\"status\": \"acknowledged\" | \"called_back\" | \"closed\"}.");
  }
  const std::string new_status = status.get<std::string>();
  auto self = shared_from_this();
  FindItem(id, [self, id, new_status](engine::StatusOr<std::optional<store::HandoffRecord>> item) {
    if (!item.ok()) return self->FromStatus(item.status());
    if (!item.value()) {
      return self->Fail(http::status::not_found, "not_found", "No such item in your clinic.");
    }
    store::HandoffRecord h = std::move(*item.value());
    std::vector<store::EventRecord> events;
    if (self->route_->status_events) {
      // The clinic as the content being served describes it (its webhooks); none when the
      // clinic has left the content since the item was raised.
      const auto content = self->host_->CurrentContent();
      if (content != nullptr) {
        const engine::Clinic& clinic = content->ClinicOrDefault(h.clinic);
        if (clinic.id == h.clinic) {
          events = self->route_->status_events(clinic, h, new_status, self->who_.name);
        }
      }
    }
    const bool raises_events = !events.empty();
    const int64_t at = NowMs();
    self->host_->ConversationStore().SetHandoffStatus(
        self->who_.clinic, id, new_status, self->who_.name, at, std::move(events),
        [self, h, new_status, at, raises_events](engine::Status s) mutable {
          if (!s.ok()) return self->FromStatus(s);
          if (raises_events) self->host_->WakeWebhooks();
          self->host_->Log(
              "info", "clinician " + self->who_.name + " set " + h.reference + " to " + new_status);
          h.status = new_status;
          h.status_by = self->who_.name;
          h.status_ms = at;
          self->Reply(server::JsonResponse(http::status::ok, ItemJson(h), self->req_));
        });
  });
}

void Call::Failed() {
  auto self = shared_from_this();
  host_->ConversationStore().FailedDeliveries(
      who_.clinic, 50, [self](engine::StatusOr<std::vector<store::DeliveryRecord>> r) {
        if (!r.ok()) return self->FromStatus(r.status());
        json out = json::array();
        for (const auto& d : r.value()) {
          out.push_back({{"event_id", d.event_id},
                         {"endpoint", d.endpoint},
                         {"type", d.type},
                         {"created_ms", d.created_ms},
                         {"attempts", d.attempts},
                         {"last_attempt_ms", d.last_attempt_ms},
                         {"last_error", d.last_error}});
        }
        self->Reply(
            server::JsonResponse(http::status::ok, {{"deliveries", std::move(out)}}, self->req_));
      });
}

void Call::Events() {
  if (!open_stream_) {
    return Fail(http::status::not_implemented, "no_stream", "This server cannot stream.");
  }
  Response header{http::status::ok, req_.version()};
  header.set(http::field::content_type, "text/event-stream; charset=utf-8");
  header.set(http::field::cache_control, "no-store");
  header.set("X-Accel-Buffering", "no");  // a proxy (nginx) must pass each event on at once
  auto stream = open_stream_(std::move(header));
  if (!route_->watcher.Add(host_, who_, stream)) {
    stream->Write("event: too_many\ndata: {}\n\n");
    stream->End();
  }
}

// An item id from the path ("items/42/status" -> 42), or 0.
int64_t ItemId(const std::string& text) {
  if (text.empty() || text.size() > 15 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    return 0;
  }
  return std::stoll(text);
}

void Call::Run() {
  const std::string target(req_.target());
  const std::string path = target.substr(0, target.find('?'));
  if (path.rfind(kApi, 0) != 0) return Page(path);
  if (!route_->auth.enabled()) {
    return Fail(http::status::not_found, "clinicians_off",
                "The clinicians' page is off: no clinicians are configured on this server.");
  }
  const std::string api = path.substr(std::char_traits<char>::length(kApi));
  const http::verb method = req_.method();
  const bool read = method == http::verb::get || method == http::verb::head;
  if (api == "login") return method == http::verb::post ? Login() : MethodNotAllowed("POST");

  const std::string session_id = server::CookieValue(req_, kCookie);
  if (session_id.empty())
    return Fail(http::status::unauthorized, "not_signed_in", "Sign in first.");
  auto clinician = route_->Find(session_id);
  if (!clinician) {
    return Fail(http::status::unauthorized, "session_expired",
                "Your session has ended or is not known; sign in again.");
  }
  who_ = std::move(*clinician);
  if (!read) {
    if (auto problem = server::CsrfProblem(req_)) {
      return Fail(http::status::forbidden, "csrf", *problem);
    }
  }
  if (api == "logout") return method == http::verb::post ? Logout() : MethodNotAllowed("POST");
  if (api == "me") return read ? Me() : MethodNotAllowed("GET");
  if (api == "items") return read ? Items() : MethodNotAllowed("GET");
  if (api == "failed") return read ? Failed() : MethodNotAllowed("GET");
  if (api == "events") return method == http::verb::get ? Events() : MethodNotAllowed("GET");
  const std::string prefix = "items/";
  if (api.rfind(prefix, 0) == 0) {
    const std::string rest = api.substr(prefix.size());
    const size_t slash = rest.find('/');
    const int64_t id = ItemId(rest.substr(0, slash));
    const std::string what = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (id > 0 && what == "conversation") {
      return read ? Conversation(id) : MethodNotAllowed("GET");
    }
    if (id > 0 && what == "status") {
      return method == http::verb::post ? SetStatus(id) : MethodNotAllowed("POST");
    }
  }
  Fail(http::status::not_found, "not_found", "No such API.");
}

void ClinicRoute::HandleStreaming(std::shared_ptr<server::RouteHost> host, Request request,
                                  std::string address, Responder respond,
                                  server::StreamOpener open_stream) {
  std::make_shared<Call>(std::move(host), shared_from_this(), std::move(request),
                         std::move(address), std::move(respond), std::move(open_stream))
      ->Run();
}

}  // namespace

bool IsClinicPath(std::string_view path) {
  return path == "/clinic" || path.rfind("/clinic/", 0) == 0;
}

engine::Status AddClinicRoutes(server::Server& server, StatusEvents status_events,
                               ClinicRouteOptions options) {
  const std::shared_ptr<server::RouteHost> host = server.host();
  const server::ClinicianSettings& settings = host->Configuration().clinicians;
  if (auto content = host->CurrentContent()) {
    std::set<std::string> known;
    for (const auto& c : content->clinics) known.insert(c.id);
    for (const auto& a : settings.accounts) {
      if (!known.count(a.clinic)) {
        host->Log("warn", "clinician " + a.name + " belongs to clinic \"" + a.clinic +
                              "\", which is not in the content (dialogs/clinics/): their page "
                              "stays empty until it is");
      }
    }
  }
  server.AddRoute(std::make_shared<ClinicRoute>(settings, std::move(status_events), options));
  return engine::Status::Ok();
}

}  // namespace backline::clinic
