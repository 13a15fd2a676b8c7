#include "curator/curator_routes.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "content/reply_json.h"
#include "curator/internal/curator_auth.h"
#include "server/route_helpers.h"
#include "server/routes.h"
#include "server/util.h"

namespace backline::curator {
namespace {

namespace http = boost::beast::http;
using internal::CookieSecure;
using internal::CuratorAuth;
using internal::SessionCookie;

using json = nlohmann::json;
using server::NowMs;
using Request = server::HttpRequest;
using Response = server::HttpResponse;
using Responder = std::function<void(Response)>;

constexpr const char* kCookie = "backline_curator";
constexpr const char* kApi = "/curator/api/";
// The page's files are served under a strict policy: no inline script or style, nothing from
// elsewhere, not framed.
constexpr const char* kPolicy =
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// The route: what one server keeps for its curators (sessions, login failures and the
// Curator); its slow work runs on the server's background thread (RouteHost::RunInBackground). It
// holds no strong reference to the server's state (requests carry their own), so it cannot keep it
// alive; the state owns it.
class CuratorRoute : public server::Route, public std::enable_shared_from_this<CuratorRoute> {
 public:
  CuratorRoute(const server::CuratorSettings& settings, std::unique_ptr<Curator> back_end)
      : auth(settings), curator(std::move(back_end)) {}

  bool Matches(std::string_view path) const override { return IsCuratorPath(path); }
  void Handle(std::shared_ptr<server::RouteHost> host, Request request, std::string address,
              Responder respond) override;

  CuratorAuth auth;
  // Jobs that use it hold this route, so it outlives every job.
  std::unique_ptr<Curator> curator;
};

// ---- responses -----------------------------------------------------------------------------

Response Base(http::status status, const Request& req) {
  return server::NoStoreResponse(status, req);
}

Response Json(http::status status, const json& body, const Request& req) {
  return server::JsonResponse(status, body, req);
}

json DiagnosticJson(const engine::Diagnostic& d) {
  return {{"severity", d.severity == engine::Diagnostic::Severity::kError ? "error" : "warning"},
          {"file", d.where.file},
          {"line", d.where.line},
          {"column", d.where.column},
          {"message", d.message},
          {"text", d.ToString()}};
}

Response Error(http::status status, const std::string& code, const std::string& message,
               const Request& req, json diagnostics = json::array()) {
  return Json(status,
              {{"error", code}, {"message", message}, {"diagnostics", std::move(diagnostics)}},
              req);
}

http::status StatusFor(const engine::Status& s) {
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

const char* CodeFor(const engine::Status& s) {
  switch (s.code()) {
    case engine::Status::Code::kNotFound:
      return "not_found";
    case engine::Status::Code::kInvalidArgument:
      return "bad_request";
    case engine::Status::Code::kUnavailable:
      return "unavailable";
    case engine::Status::Code::kDataError:
      return "content_error";
    default:
      return "server_error";
  }
}

Response FromStatus(const engine::Status& s, const Request& req) {
  return Error(StatusFor(s), CodeFor(s), s.message(), req);
}

json StatusJson(const content::ContentStatus& s) {
  return {{"version", s.version},
          {"loaded_ms", s.loaded_ms},
          {"entries", s.entries},
          {"topics", s.topics},
          {"red_flag_kinds", s.red_flag_kinds},
          {"red_flag_rules", s.red_flag_rules},
          {"intents", s.intents},
          {"states", s.states},
          {"clinics", s.clinics}};
}

// ---- request helpers -----------------------------------------------------------------------

using server::CookieValue;
using server::CsrfProblem;
using server::QueryNumber;

std::map<std::string, std::string> Query(std::string_view target) {
  return server::QueryParams(target);
}

// ---- JSON forms of the content -------------------------------------------------------------

json EntrySummary(const engine::FaqEntry& e) {
  return {{"id", e.id},
          {"topic", e.topic},
          {"question", e.questions.empty() ? std::string() : e.questions.front()},
          {"questions", e.questions.size()}};
}

json EntryJson(const engine::FaqEntry& e) {
  json sources = json::array();
  for (const auto& s : e.sources) sources.push_back({{"title", s.title}, {"url", s.url}});
  return {{"id", e.id},
          {"topic", e.topic},
          {"questions", e.questions},
          {"keywords", e.keywords},
          {"answer", e.answer},
          {"sources", std::move(sources)},
          {"reviewed", e.reviewed},
          {"file", e.where.file},
          {"line", e.where.line}};
}

// Lines of `after` not in `before` and the other way round (a small, order-blind diff for
// the revisions list), at most `limit` each.
json LineDiff(const std::string& before, const std::string& after, size_t limit) {
  auto lines = [](const std::string& text) {
    std::multiset<std::string> out;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
      const size_t start = line.find_first_not_of(' ');
      out.insert(start == std::string::npos ? std::string() : line.substr(start));
    }
    return out;
  };
  auto b = lines(before), a = lines(after);
  json added = json::array(), removed = json::array();
  for (const auto& l : a) {
    auto it = b.find(l);
    if (it != b.end()) {
      b.erase(it);
    } else if (added.size() < limit) {
      added.push_back(l);
    }
  }
  for (const auto& l : b) {
    if (removed.size() < limit) removed.push_back(l);
  }
  return {{"added", std::move(added)}, {"removed", std::move(removed)}};
}

// ---- the API -------------------------------------------------------------------------------

class Call {
 public:
  Call(std::shared_ptr<server::RouteHost> host, std::shared_ptr<CuratorRoute> api, Request req,
       std::string address, Responder respond)
      : host_(std::move(host)),
        api_(std::move(api)),
        req_(std::move(req)),
        address_(std::move(address)),
        respond_(std::move(respond)) {}

  void Run();

 private:
  void Reply(Response res) { respond_(std::move(res)); }
  void Fail(http::status status, const std::string& code, const std::string& message) {
    Reply(Error(status, code, message, req_));
  }

  void Page(const std::string& path);
  void Login();
  void Logout();
  void Me(const CuratorAuth::Session& s);
  // Runs `job` on the server's background thread with the signed-in curator's name.
  void InBackground(std::function<Response(Call&)> job);

  Response Try();
  Response Topics();
  Response Entry(const std::string& id);
  Response Unanswered();
  Response Revisions();
  Response Status();
  Response Reload();
  Response Edit(const std::function<engine::StatusOr<EditOutcome>(Curator&)>& edit,
                http::status refused_status);
  Curator* GetCurator(std::string* why);
  bool Body(json* out, Response* error);

  std::shared_ptr<server::RouteHost> host_;
  std::shared_ptr<CuratorRoute> api_;
  Request req_;
  std::string address_;
  Responder respond_;
  std::string who_;
  std::string session_id_;
};

void Call::Page(const std::string& path) {
  if (req_.method() != http::verb::get && req_.method() != http::verb::head) {
    Response res = Error(http::status::method_not_allowed, "method", "Only GET and HEAD.", req_);
    res.set(http::field::allow, "GET, HEAD");
    return Reply(std::move(res));
  }
  if (path == "/curator") {
    Response res = Base(http::status::moved_permanently, req_);
    res.set(http::field::location, "/curator/");
    return Reply(std::move(res));
  }
  std::string file = path;
  if (file.back() == '/') file += "index.html";
  // Plain paths only: no escapes, dot segments or hidden files (the static files hold only
  // what web/ publishes, but the page should never reach outside web/curator/ anyway).
  const bool plain = file.find('%') == std::string::npos && file.find('\\') == std::string::npos &&
                     file.find("/.") == std::string::npos;
  const auto f = plain ? host_->FindWebFile(file) : nullptr;
  if (!f) return Fail(http::status::not_found, "not_found", "No such page.");
  Response res = Base(http::status::ok, req_);
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

void Call::Login() {
  if (auto problem = CsrfProblem(req_)) return Fail(http::status::forbidden, "csrf", *problem);
  json body;
  Response error;
  if (!Body(&body, &error)) return Reply(std::move(error));
  auto token = body.find("token");
  if (token == body.end() || !token->is_string() || token->get<std::string>().empty()) {
    return Fail(http::status::bad_request, "bad_request", "Send {\"token\": \"...\"}.");
  }
  const auto login = api_->auth.SignIn(address_, token->get<std::string>(), NowMs());
  switch (login.result) {
    case CuratorAuth::LoginResult::kTooManyAttempts: {
      const int64_t seconds = (login.retry_after_ms + 999) / 1000;
      host_->Log("warn", "curator login refused for " + address_ + ": too many failed attempts");
      Response res = Error(http::status::too_many_requests, "too_many_attempts",
                           "Too many failed sign-ins from this address. Try again in " +
                               std::to_string((seconds + 59) / 60) + " minute(s).",
                           req_);
      res.set(http::field::retry_after, std::to_string(seconds));
      return Reply(std::move(res));
    }
    case CuratorAuth::LoginResult::kWrongToken:
      host_->Log("warn", "curator login failed from " + address_);
      return Fail(http::status::unauthorized, "wrong_token", "That token is not right.");
    case CuratorAuth::LoginResult::kOk:
      break;
  }
  host_->Log("info", "curator signed in: " + login.name);
  const int64_t max_age = api_->auth.session_ms() / 1000;
  Response res =
      Json(http::status::ok,
           {{"name", login.name}, {"expires_ms", NowMs() + api_->auth.session_ms()}}, req_);
  res.set(http::field::set_cookie,
          SessionCookie(login.session_id, max_age, CookieSecure(host_->Configuration())));
  Reply(std::move(res));
}

void Call::Logout() {
  if (auto problem = CsrfProblem(req_)) return Fail(http::status::forbidden, "csrf", *problem);
  api_->auth.SignOut(session_id_);
  Response res = Json(http::status::ok, {{"signed_out", true}}, req_);
  res.set(http::field::set_cookie, SessionCookie("", 0, CookieSecure(host_->Configuration())));
  Reply(std::move(res));
}

void Call::Me(const CuratorAuth::Session& s) {
  Reply(Json(http::status::ok, {{"name", s.name}, {"expires_ms", s.expires_ms}}, req_));
}

bool Call::Body(json* out, Response* error) {
  *out = json::parse(req_.body(), nullptr, false);
  if (out->is_discarded() || !out->is_object()) {
    *error = Error(http::status::bad_request, "bad_json", "The body must be a JSON object.", req_);
    return false;
  }
  return true;
}

void Call::InBackground(std::function<Response(Call&)> job) {
  // The call is moved into the job; its respond_ answers from the background thread.
  auto self = std::make_shared<Call>(std::move(*this));
  self->host_->RunInBackground([self, job = std::move(job)]() {
    Response res;
    try {
      res = job(*self);
    } catch (const std::exception& e) {
      self->host_->Log("error", std::string("curator request failed: ") + e.what());
      res = Error(http::status::internal_server_error, "server_error",
                  "Something went wrong on the server; nothing was changed by this request.",
                  self->req_);
    }
    self->Reply(std::move(res));
  });
}

Curator* Call::GetCurator(std::string* why) {
  if (!api_->curator) *why = "The curator back end is not available on this server.";
  return api_->curator.get();
}

Response Call::Try() {
  json body;
  Response error;
  if (!Body(&body, &error)) return error;
  auto text = body.find("text");
  if (text == body.end() || !text->is_string() || text->get<std::string>().empty()) {
    return Error(http::status::bad_request, "bad_request", "Send {\"text\": \"...\"}.", req_);
  }
  if (text->get<std::string>().size() > host_->Configuration().limits.max_message_bytes) {
    return Error(http::status::payload_too_large, "too_long",
                 "The message is longer than a chat message may be (" +
                     std::to_string(host_->Configuration().limits.max_message_bytes) + " bytes).",
                 req_);
  }
  const auto content = host_->CurrentContent();
  if (!content) return Error(http::status::service_unavailable, "unavailable", "No content.", req_);
  std::string clinic_id = "default";
  if (auto c = body.find("clinic"); c != body.end() && c->is_string() && !c->empty()) {
    clinic_id = c->get<std::string>();
  }
  const engine::Clinic& clinic = content->ClinicOrDefault(clinic_id);
  const engine::TurnResult turn =
      content->engine->Turn(engine::SessionState{}, text->get<std::string>(), clinic);
  return Json(http::status::ok,
              {{"reply", content::ReplyToJson(turn.reply)},
               {"state", turn.state.state},
               {"clinic", clinic.id},
               {"version", content->status.version},
               {"explain", content::ExplanationToJson(turn.explanation)}},
              req_);
}

Response Call::Topics() {
  const auto content = host_->CurrentContent();
  if (!content) return Error(http::status::service_unavailable, "unavailable", "No content.", req_);
  std::map<std::string, json> by_topic;
  for (const auto& e : content->engine->content().entries) {
    auto& list = by_topic[e.topic];
    if (list.is_null()) list = json::array();
    list.push_back(EntrySummary(e));
  }
  json topics = json::array();
  for (const auto& id : content->engine->FaqTopicIds()) {
    auto it = by_topic.find(id);
    topics.push_back(
        {{"topic", id}, {"entries", it == by_topic.end() ? json::array() : it->second}});
    if (it != by_topic.end()) by_topic.erase(it);
  }
  for (auto& [id, list] : by_topic) topics.push_back({{"topic", id}, {"entries", list}});
  json clinics = json::array();
  for (const auto& c : content->clinics) clinics.push_back(c.id);
  return Json(http::status::ok,
              {{"topics", std::move(topics)},
               {"clinics", std::move(clinics)},
               {"version", content->status.version}},
              req_);
}

Response Call::Entry(const std::string& id) {
  const auto content = host_->CurrentContent();
  if (!content) return Error(http::status::service_unavailable, "unavailable", "No content.", req_);
  const engine::FaqEntry* e = content->engine->FindEntry(id);
  if (!e) return Error(http::status::not_found, "not_found", "No entry \"" + id + "\".", req_);
  return Json(http::status::ok, EntryJson(*e), req_);
}

Response Call::Unanswered() {
  std::string why;
  Curator* curator = GetCurator(&why);
  if (!curator) return Error(http::status::service_unavailable, "unavailable", why, req_);
  const auto q = Query(std::string(req_.target()));
  const int64_t days = QueryNumber(q, "days", 30, 3650);
  const int64_t limit = QueryNumber(q, "limit", 50, 500);
  const int64_t since = days == 0 ? 0 : NowMs() - days * 86400000;
  auto groups = curator->Unanswered(since, static_cast<size_t>(limit));
  if (!groups.ok()) return FromStatus(groups.status(), req_);
  json out = json::array();
  for (const auto& g : groups.value()) {
    out.push_back({{"key", g.key},
                   {"example", g.example},
                   {"count", g.count},
                   {"first_ms", g.first_ms},
                   {"last_ms", g.last_ms},
                   {"variants", g.variants}});
  }
  return Json(http::status::ok, {{"groups", std::move(out)}, {"days", days}}, req_);
}

Response Call::Revisions() {
  std::string why;
  Curator* curator = GetCurator(&why);
  if (!curator) return Error(http::status::service_unavailable, "unavailable", why, req_);
  const int64_t limit = QueryNumber(Query(std::string(req_.target())), "limit", 30, 500);
  auto revisions = curator->Revisions(static_cast<size_t>(limit));
  if (!revisions.ok()) return FromStatus(revisions.status(), req_);
  std::set<int64_t> undone;
  for (const auto& r : revisions.value()) {
    if (r.undoes) undone.insert(r.undoes);
  }
  json out = json::array();
  for (const auto& r : revisions.value()) {
    out.push_back({{"id", r.id},
                   {"who", r.who},
                   {"at_ms", r.at_ms},
                   {"summary", r.summary},
                   {"file", r.file},
                   {"undoes", r.undoes},
                   {"undone", undone.count(r.id) > 0},
                   {"diff", LineDiff(r.before, r.after, 20)}});
  }
  return Json(http::status::ok, {{"revisions", std::move(out)}}, req_);
}

Response Call::Status() {
  const auto content = host_->CurrentContent();
  if (!content) return Error(http::status::service_unavailable, "unavailable", "No content.", req_);
  return Json(http::status::ok, {{"content", StatusJson(content->status)}, {"curator", who_}},
              req_);
}

Response Call::Reload() {
  // Edits go through the Curator, which reloads under its own lock; a plain reload (after the
  // files were changed by hand) takes the same path as SIGHUP.
  auto s = host_->ReloadContent();
  if (!s.ok()) {
    return Error(
        http::status::bad_request, "reload_refused",
        "The content has errors; the server keeps the previous content.\n" + s.status().message(),
        req_);
  }
  host_->Log("info", "curator " + who_ + " reloaded the content");
  return Json(http::status::ok, {{"content", StatusJson(s.value())}}, req_);
}

Response Call::Edit(const std::function<engine::StatusOr<EditOutcome>(Curator&)>& edit,
                    http::status refused_status) {
  std::string why;
  Curator* curator = GetCurator(&why);
  if (!curator) return Error(http::status::service_unavailable, "unavailable", why, req_);
  auto outcome = edit(*curator);
  if (!outcome.ok()) return FromStatus(outcome.status(), req_);
  json diags = json::array();
  for (const auto& d : outcome->errors) diags.push_back(DiagnosticJson(d));
  if (!outcome->applied) {
    std::string first;
    for (const auto& d : outcome->errors) {
      if (d.severity == engine::Diagnostic::Severity::kError) {
        first = d.message;
        break;
      }
    }
    return Error(refused_status, "refused",
                 "The change was refused and nothing was written" +
                     (first.empty() ? std::string(".") : ": " + first),
                 req_, std::move(diags));
  }
  host_->Log("info", "curator " + who_ + " saved revision " + std::to_string(outcome->revision));
  return Json(http::status::ok,
              {{"applied", true},
               {"revision", outcome->revision},
               {"content", StatusJson(outcome->status)},
               {"diagnostics", std::move(diags)}},
              req_);
}

std::vector<std::string> Strings(const json& j) {
  std::vector<std::string> out;
  for (const auto& v : j) out.push_back(v.get<std::string>());
  return out;
}

bool AllStrings(const json& j) {
  return j.is_array() &&
         std::all_of(j.begin(), j.end(), [](const json& v) { return v.is_string(); });
}

void Call::Run() {
  const std::string target(req_.target());
  const std::string path = target.substr(0, target.find('?'));
  if (path.rfind(kApi, 0) != 0) return Page(path);

  if (!api_->auth.enabled()) {
    return Fail(http::status::not_found, "curators_off",
                "The curator tools are off: no curators are configured on this server.");
  }
  const std::string route = path.substr(std::char_traits<char>::length(kApi));
  const http::verb method = req_.method();
  if (route == "login") {
    if (method != http::verb::post) {
      return Fail(http::status::method_not_allowed, "method", "Sign in with POST.");
    }
    return Login();
  }

  session_id_ = CookieValue(req_, kCookie);
  if (session_id_.empty()) {
    return Fail(http::status::unauthorized, "not_signed_in", "Sign in first.");
  }
  const auto session = api_->auth.Find(session_id_, NowMs());
  if (!session) {
    return Fail(http::status::unauthorized, "session_expired",
                "Your session has ended or is not known; sign in again.");
  }
  who_ = session->name;
  const bool read = method == http::verb::get || method == http::verb::head;
  if (!read) {
    if (auto problem = CsrfProblem(req_)) return Fail(http::status::forbidden, "csrf", *problem);
  }
  auto method_not_allowed = [this](const char* allowed) {
    Response res = Error(http::status::method_not_allowed, "method",
                         std::string("Use ") + allowed + " here.", req_);
    res.set(http::field::allow, allowed);
    Reply(std::move(res));
  };

  if (route == "logout") return method == http::verb::post ? Logout() : method_not_allowed("POST");
  if (route == "me") return read ? Me(*session) : method_not_allowed("GET");
  if (route == "status") {
    if (!read) return method_not_allowed("GET");
    return InBackground([](Call& c) { return c.Status(); });
  }
  if (route == "try") {
    if (method != http::verb::post) return method_not_allowed("POST");
    return InBackground([](Call& c) { return c.Try(); });
  }
  if (route == "topics") {
    if (!read) return method_not_allowed("GET");
    return InBackground([](Call& c) { return c.Topics(); });
  }
  if (route == "unanswered") {
    if (!read) return method_not_allowed("GET");
    return InBackground([](Call& c) { return c.Unanswered(); });
  }
  if (route == "revisions") {
    if (!read) return method_not_allowed("GET");
    return InBackground([](Call& c) { return c.Revisions(); });
  }
  if (route == "reload") {
    if (method != http::verb::post) return method_not_allowed("POST");
    return InBackground([](Call& c) { return c.Reload(); });
  }
  if (route == "undo") {
    if (method != http::verb::post) return method_not_allowed("POST");
    return InBackground([](Call& c) {
      return c.Edit([&c](Curator& cur) { return cur.UndoLast(c.who_); }, http::status::conflict);
    });
  }
  if (route == "entries") {
    if (method != http::verb::post) return method_not_allowed("POST");
    return InBackground([](Call& c) {
      json b;
      Response error;
      if (!c.Body(&b, &error)) return error;
      NewEntry e;
      auto str = [&b](const char* key, std::string* out) {
        auto it = b.find(key);
        if (it == b.end()) return true;
        if (!it->is_string()) return false;
        *out = it->get<std::string>();
        return true;
      };
      const bool ok = str("topic", &e.topic) && str("id", &e.id) && str("answer", &e.answer) &&
                      str("reviewed_on", &e.reviewed_on) &&
                      AllStrings(b.value("questions", json::array())) &&
                      AllStrings(b.value("keywords", json::array()));
      if (!ok) {
        return Error(http::status::bad_request, "bad_request",
                     "Send {\"topic\", \"id\", \"questions\": [...], \"answer\", \"sources\": "
                     "[{\"title\", \"url\"}], \"reviewed_on\": \"YYYY-MM-DD\"} (strings).",
                     c.req_);
      }
      e.questions = Strings(b.value("questions", json::array()));
      e.keywords = Strings(b.value("keywords", json::array()));
      const json sources = b.value("sources", json::array());
      if (!sources.is_array()) {
        return Error(http::status::bad_request, "bad_request", "\"sources\" must be a list.",
                     c.req_);
      }
      for (const auto& s : sources) {
        if (!s.is_object() || !s.value("title", json()).is_string() ||
            !s.value("url", json()).is_string()) {
          return Error(http::status::bad_request, "bad_request",
                       "Each source needs a \"title\" and a \"url\" (strings).", c.req_);
        }
        e.sources.push_back({s["title"].get<std::string>(), s["url"].get<std::string>()});
      }
      return c.Edit([&c, &e](Curator& cur) { return cur.CreateEntry(c.who_, e); },
                    http::status::bad_request);
    });
  }
  const std::string prefix = "entries/";
  if (route.rfind(prefix, 0) == 0) {
    std::string rest = route.substr(prefix.size());
    const bool paraphrases =
        rest.size() > 12 && rest.compare(rest.size() - 12, 12, "/paraphrases") == 0;
    if (paraphrases) rest.resize(rest.size() - 12);
    std::string id;
    // Entry ids are plain, but a browser may encode them.
    if (rest.empty() || !server::PercentDecode(rest, &id) || id.find('/') != std::string::npos ||
        rest.find('/') != std::string::npos) {
      return Fail(http::status::not_found, "not_found", "No such API.");
    }
    if (paraphrases) {
      if (method != http::verb::post) return method_not_allowed("POST");
      return InBackground([id](Call& c) {
        json b;
        Response error;
        if (!c.Body(&b, &error)) return error;
        auto text = b.find("text");
        if (text == b.end() || !text->is_string()) {
          return Error(http::status::bad_request, "bad_request", "Send {\"text\": \"...\"}.",
                       c.req_);
        }
        const std::string t = text->get<std::string>();
        return c.Edit([&c, &id, &t](Curator& cur) { return cur.AddParaphrase(c.who_, id, t); },
                      http::status::bad_request);
      });
    }
    if (read) return InBackground([id](Call& c) { return c.Entry(id); });
    if (method != http::verb::put) return method_not_allowed("GET, PUT");
    return InBackground([id](Call& c) {
      json b;
      Response error;
      if (!c.Body(&b, &error)) return error;
      auto questions = b.find("questions");
      auto answer = b.find("answer");
      if (questions == b.end() || !AllStrings(*questions) || answer == b.end() ||
          !answer->is_string()) {
        return Error(http::status::bad_request, "bad_request",
                     "Send {\"questions\": [\"...\"], \"answer\": \"...\"}.", c.req_);
      }
      const auto qs = Strings(*questions);
      const std::string a = answer->get<std::string>();
      return c.Edit([&c, &id, &qs, &a](Curator& cur) { return cur.UpdateEntry(c.who_, id, qs, a); },
                    http::status::bad_request);
    });
  }
  Fail(http::status::not_found, "not_found", "No such API.");
}

void CuratorRoute::Handle(std::shared_ptr<server::RouteHost> host, Request request,
                          std::string address, Responder respond) {
  Call call(std::move(host), shared_from_this(), std::move(request), std::move(address),
            std::move(respond));
  call.Run();
}

}  // namespace

bool IsCuratorPath(std::string_view path) {
  return path == "/curator" || path.rfind("/curator/", 0) == 0;
}

engine::StatusOr<Curator*> AddCuratorRoutes(server::Server& server) {
  const std::shared_ptr<server::RouteHost> host = server.host();
  const server::Config& config = host->Configuration();
  // The curator's functions hold the server's state weakly: the state owns the route, which
  // owns the curator.
  std::weak_ptr<server::RouteHost> weak = host;
  auto curator = Curator::Create(
      content::ContentPaths{config.knowledge, config.dialogs}, &host->ConversationStore(),
      [weak]() -> std::shared_ptr<const content::Content> {
        auto h = weak.lock();
        return h ? h->CurrentContent() : nullptr;
      },
      [weak]() -> engine::StatusOr<content::ContentStatus> {
        auto h = weak.lock();
        if (!h) return engine::Status::Unavailable("the server is gone");
        return h->ReloadContent();
      });
  if (!curator.ok()) return curator.status();
  auto route = std::make_shared<CuratorRoute>(config.curators, std::move(curator).value());
  Curator* raw = route->curator.get();
  server.AddRoute(std::move(route));
  return raw;
}

}  // namespace backline::curator
