// backline export review: the clinical review sheet, one self-contained HTML
// page (inline CSS, no scripts, nothing loaded from elsewhere; links to the
// sources are the only URLs).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/commands.h"
#include "cli/internal/options.h"
#include "content/content.h"
#include "engine/lint.h"

namespace backline::cli {
namespace {
namespace fs = std::filesystem;

std::string Esc(std::string_view s) {
  std::string out;
  out.reserve(s.size() + s.size() / 8);
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

// Escaped text with each {placeholder} marked, so the reviewer sees which parts
// each clinic fills in.
std::string EscMarked(std::string_view s) {
  std::string out;
  size_t i = 0;
  while (i < s.size()) {
    const size_t open = s.find('{', i);
    const size_t close = open == std::string_view::npos ? open : s.find('}', open);
    if (close == std::string_view::npos) {
      out += Esc(s.substr(i));
      break;
    }
    out += Esc(s.substr(i, open - i));
    out += "<span class=\"ph\">" + Esc(s.substr(open, close - open + 1)) + "</span>";
    i = close + 1;
  }
  return out;
}

// Only http(s) links are made into links; anything else is shown as text.
bool IsWebUrl(const std::string& url) {
  return url.rfind("https://", 0) == 0 || url.rfind("http://", 0) == 0;
}

constexpr const char* kStyle = R"(
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2433;max-width:60rem;margin:0 auto;padding:1.5rem}
h1{font-size:1.7rem;margin:0 0 .3rem}h2{margin-top:2.5rem;border-bottom:2px solid #1d2433}
h3{margin-top:2rem;background:#eef2f7;padding:.3rem .6rem}
.meta{color:#4a5568}.meta td{padding:.1rem 1rem .1rem 0}
.signoff{border:2px solid #1d2433;padding:1rem;margin:1.5rem 0}
.signoff p{margin:.9rem 0}.line{display:inline-block;min-width:16rem;border-bottom:1px solid #1d2433}
article{border:1px solid #cbd5e0;border-radius:6px;padding:.7rem 1rem;margin:1rem 0;break-inside:avoid}
article h4{margin:0 0 .3rem;font-size:1.05rem}
.id{font:13px ui-monospace,monospace;color:#4a5568}
.answer{white-space:pre-wrap;background:#f7fafc;padding:.5rem .7rem;border-left:4px solid #3182ce}
.esc{white-space:pre-wrap;background:#fff5f5;padding:.5rem .7rem;border-left:4px solid #c53030}
.ph{background:#fefcbf;font-family:ui-monospace,monospace;font-size:.9em}
.warn{color:#975a16;background:#fffff0;border:1px solid #ecc94b;padding:.3rem .6rem .3rem 1.6rem}
.ok{color:#276749}
table.clinics{border-collapse:collapse;width:100%}table.clinics td,table.clinics th{border:1px solid #cbd5e0;padding:.4rem;vertical-align:top;text-align:left}
.check{font:13px ui-monospace,monospace;color:#4a5568}
details summary{cursor:pointer;color:#2c5282}
@media print{details{display:block}h2{break-before:page}}
)";

int Usage(std::ostream& err) {
  err << "usage: backline export review [--out FILE] [--kb DIR] [--dialogs DIR]"
         " [--today YYYY-MM-DD]\n";
  return 2;
}

}  // namespace

int RunExport(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  if (args.empty() || args[0] != "review") return Usage(err);
  content::ContentPaths paths = content::DefaultContentPaths();
  std::string out_file = "backline-review.html";
  engine::LintOptions lint;
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (i + 1 >= args.size()) return Usage(err);
    if (a == "--out") {
      out_file = args[++i];
    } else if (a == "--kb") {
      paths.knowledge = args[++i];
    } else if (a == "--dialogs") {
      paths.dialogs = args[++i];
    } else if (a == "--today") {
      long days = 0;
      if (!engine::DaysFromCivil(args[i + 1], &days)) return Usage(err);
      lint.today = args[++i];
    } else {
      return Usage(err);
    }
  }
  if (lint.today.empty()) lint.today = internal::TodayUtc();
  auto loaded = content::LoadContent(paths);
  if (!loaded.ok()) {
    err << "backline export review: " << loaded.status().message() << "\n";
    return 2;
  }
  const std::shared_ptr<const content::Content> content = std::move(loaded).value();
  const engine::Engine& eng = *content->engine;
  const engine::ContentSpec& spec = eng.content();
  std::map<std::string, std::vector<engine::LintFinding>> by_entry;
  std::map<std::string, std::vector<engine::LintFinding>> by_rule;
  size_t findings = 0;
  for (auto& f : engine::Lint(eng, lint)) {
    ++findings;
    if (!f.entry_id.empty()) by_entry[f.entry_id].push_back(f);
    if (!f.rule_id.empty()) by_rule[f.rule_id].push_back(f);
  }
  // The same version /healthz and the curator page report for this content.
  const std::string version = content::ContentVersion(paths);

  // Topics in the contract's order, then any other.
  std::vector<std::string> topics = content->engine->FaqTopicIds();
  for (const auto& e : spec.entries) {
    if (std::find(topics.begin(), topics.end(), e.topic) == topics.end()) topics.push_back(e.topic);
  }
  std::map<std::string, size_t> per_topic;
  for (const auto& e : spec.entries) ++per_topic[e.topic];

  std::ostringstream h;
  h << "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
       "<title>Backline content review "
    << Esc(version) << "</title>\n<style>" << kStyle << "</style>\n</head>\n<body>\n";
  h << "<header>\n<h1>Backline: clinical review of the content</h1>\n"
       "<table class=\"meta\">\n"
    << "<tr><td>Content version</td><td><code>" << Esc(version) << "</code> ("
    << "SHA-256 of the content files in " << Esc(paths.knowledge) << " and " << Esc(paths.dialogs)
    << ", as /healthz reports it)</td></tr>\n"
    << "<tr><td>Generated</td><td>" << Esc(lint.today) << " (UTC)</td></tr>\n"
    << "<tr><td>Content</td><td>" << spec.entries.size() << " answers in " << per_topic.size()
    << " topics; " << spec.red_flag_kinds.size() << " red-flag kinds, "
    << spec.red_flag_rules.size() << " rules; " << content->clinics.size() << " clinics</td></tr>\n"
    << "<tr><td>Lint</td><td>" << findings
    << " findings of <code>backline check</code>, shown beside their answer or"
       " rule</td></tr>\n</table>\n";
  h << "<section class=\"signoff\">\n<strong>Sign-off.</strong> I have read every "
       "answer and every escalation below (content version <code>"
    << Esc(version)
    << "</code>) and approve them for use with patients, except as noted.\n"
       "<p>Name: <span class=\"line\"></span></p>\n"
       "<p>Role and registration: <span class=\"line\"></span></p>\n"
       "<p>Date: <span class=\"line\"></span> Signature: <span "
       "class=\"line\"></span></p>\n"
       "<p>Exceptions: <span class=\"line\" style=\"min-width:40rem\"></span></p>\n"
       "</section>\n";
  h << "<nav><strong>Contents:</strong> <a href=\"#answers\">Answers</a> (";
  bool first = true;
  for (const auto& t : topics) {
    if (!per_topic.count(t)) continue;
    h << (first ? "" : ", ") << "<a href=\"#topic-" << Esc(t) << "\">" << Esc(t) << "</a>";
    first = false;
  }
  h << ") &middot; <a href=\"#red-flags\">Red flags and escalations</a> &middot; <a "
       "href=\"#concepts\">Red-flag concepts</a></nav>\n"
       "</header>\n";

  // Answers.
  h << "<main>\n<h2 id=\"answers\">Answers</h2>\n"
       "<p>Each answer as written; <span class=\"ph\">{placeholders}</span> are"
       " filled from the clinic's details (see the escalations below for each"
       " clinic's values). A clinic without a phone number shows \"the number "
       "on your clinic card\".</p>\n";
  for (const auto& t : topics) {
    if (!per_topic.count(t)) continue;
    h << "<section>\n<h3 id=\"topic-" << Esc(t) << "\">Topic: " << Esc(t) << " (" << per_topic[t]
      << ")</h3>\n";
    for (const auto& e : spec.entries) {
      if (e.topic != t) continue;
      h << "<article id=\"entry-" << Esc(e.id) << "\">\n<h4>"
        << Esc(e.questions.empty() ? e.id : e.questions.front())
        << "</h4>\n<div class=\"id\">entry " << Esc(e.id) << " &middot; " << Esc(e.where.ToString())
        << " &middot; reviewed on " << Esc(e.reviewed)
        << (e.reviewed_by.empty() ? std::string(" by <em>(no one named)</em>")
                                  : " by " + Esc(e.reviewed_by))
        << " &middot; next review "
        << (e.next_review.empty() ? std::string("<em>(not set)</em>") : Esc(e.next_review))
        << "</div>\n";
      h << "<div class=\"answer\">" << EscMarked(e.answer) << "</div>\n";
      h << "<p><strong>Sources:</strong> ";
      if (e.sources.empty()) h << "<em>none</em>";
      for (size_t i = 0; i < e.sources.size(); ++i) {
        const auto& s = e.sources[i];
        if (i) h << "; ";
        if (IsWebUrl(s.url)) {
          h << "<a href=\"" << Esc(s.url) << "\">" << Esc(s.title) << "</a>";
        } else {
          h << Esc(s.title);
        }
      }
      h << "</p>\n";
      if (e.questions.size() > 1) {
        h << "<details><summary>" << e.questions.size() - 1
          << " other ways people ask</summary><ul>\n";
        for (size_t i = 1; i < e.questions.size(); ++i)
          h << "<li>" << Esc(e.questions[i]) << "</li>\n";
        h << "</ul></details>\n";
      }
      if (auto it = by_entry.find(e.id); it != by_entry.end()) {
        h << "<ul class=\"warn\">\n";
        for (const auto& f : it->second)
          h << "<li><span class=\"check\">" << Esc(f.check) << "</span> "
            << Esc(f.diag.message.substr(f.check.size() + 2)) << "</li>\n";
        h << "</ul>\n";
      }
      h << "</article>\n";
    }
    h << "</section>\n";
  }

  // Red flags.
  h << "<h2 id=\"red-flags\">Red flags and escalations</h2>\n"
       "<p>For each kind: what its rules look for, messages that escalate to it"
       " (each checked by <code>backline check</code>), and the exact reply "
       "each clinic's patients get.</p>\n";
  for (const auto& k : spec.red_flag_kinds) {
    h << "<section id=\"kind-" << Esc(k.id) << "\">\n<h3>" << Esc(k.id) << ": " << Esc(k.name)
      << " (" << engine::UrgencyName(k.urgency) << ")</h3>\n";
    size_t examples = 0;
    h << "<p><strong>Rules</strong></p>\n<ul>\n";
    for (const auto& r : spec.red_flag_rules) {
      if (r.kind != k.id) continue;
      h << "<li><span class=\"id\">" << Esc(r.id) << "</span> "
        << Esc(r.note.empty() ? "(no note)" : r.note);
      if (r.general_questions_escalate) h << " <em>General questions escalate too.</em>";
      if (!r.concepts.empty()) {
        h << "<br>Concept combinations (all in one clause, any order):";
        for (size_t i = 0; i < r.concepts.size(); ++i) {
          h << (i ? "; " : " ");
          for (size_t j = 0; j < r.concepts[i].size(); ++j) {
            h << (j ? " + " : "") << "<a href=\"#concept-" << Esc(r.concepts[i][j]) << "\">"
              << Esc(r.concepts[i][j]) << "</a>";
          }
        }
      }
      if (!r.examples.empty()) {
        h << "<br>Sample phrasings:<ul>\n";
        for (const auto& ex : r.examples) h << "<li>" << Esc(ex) << "</li>\n";
        h << "</ul>";
        examples += r.examples.size();
      }
      if (auto it = by_rule.find(r.id); it != by_rule.end()) {
        h << "<ul class=\"warn\">\n";
        for (const auto& f : it->second)
          h << "<li><span class=\"check\">" << Esc(f.check) << "</span> "
            << Esc(f.diag.message.substr(f.check.size() + 2)) << "</li>\n";
        h << "</ul>";
      }
      h << "</li>\n";
    }
    h << "</ul>\n";
    if (!examples) h << "<p class=\"warn\">No sample phrasings for this kind yet.</p>\n";
    if (!k.general_entry.empty()) {
      h << "<p>A general question about these signs is answered with <a "
           "href=\"#entry-"
        << Esc(k.general_entry) << "\">" << Esc(k.general_entry) << "</a>.</p>\n";
    }
    h << "<table class=\"clinics\"><tr><th>Clinic</th><th>Reply</th>"
      << (k.tell_them.empty() ? "" : "<th>Tell them</th>") << "</tr>\n";
    for (const auto& c : content->clinics) {
      h << "<tr><td>" << Esc(c.name) << "<br><span class=\"id\">" << Esc(c.id)
        << "</span></td><td class=\"esc\">" << Esc(engine::Engine::Render(k.reply, c)) << "</td>";
      if (!k.tell_them.empty())
        h << "<td>" << Esc(engine::Engine::Render(k.tell_them, c)) << "</td>";
      h << "</tr>\n";
    }
    h << "</table>\n";
    // The wordings for a message about the writer or about someone else, shown once (in
    // the first clinic's numbers): reviewers sign off each.
    const std::pair<const char*, std::pair<const std::string*, const std::string*>> variants[] = {
        {"When the person writing says it is about them", {&k.self_reply, &k.self_tell_them}},
        {"When the message is about someone else", {&k.other_reply, &k.other_tell_them}}};
    for (const auto& [label, texts] : variants) {
      if (texts.first->empty() || content->clinics.empty()) continue;
      const auto& c = content->clinics.front();
      h << "<p><b>" << label << "</b> (" << Esc(c.name) << "):</p>\n<p class=\"esc\">"
        << Esc(engine::Engine::Render(*texts.first, c)) << "</p>\n";
      if (!texts.second->empty())
        h << "<p>Tell them: " << Esc(engine::Engine::Render(*texts.second, c)) << "</p>\n";
    }
    h << "</section>\n";
  }
  // The concepts the rules combine (knowledge/concepts.json): the words are what clinicians
  // sign off, since a word added to a list changes what escalates.
  if (!spec.concepts.empty()) {
    h << "<h2 id=\"concepts\">Red-flag concepts</h2>\n<p>The lay words the rules above "
         "combine (<code>knowledge/concepts.json</code>). A word added to one of these lists "
         "changes what escalates; words are compared on their stems.</p>\n"
         "<table class=\"concepts\"><tr><th>Concept</th><th>What it covers</th>"
         "<th>Words</th></tr>\n";
    for (const auto& c : spec.concepts) {
      h << "<tr id=\"concept-" << Esc(c.id) << "\"><td class=\"id\">" << Esc(c.id) << "</td><td>"
        << Esc(c.note) << "</td><td>";
      for (size_t i = 0; i < c.words.size(); ++i) h << (i ? ", " : "") << Esc(c.words[i]);
      h << "</td></tr>\n";
    }
    h << "</table>\n";
  }
  // The safety net beside the rules (engine/classifier.h).
  h << "<h2 id=\"safety-net\">The safety net: the red-flag classifier</h2>\n";
  if (const auto& cl = spec.classifier; cl.model) {
    const std::string screen = spec.dialog.screening_state;
    h << "<p>Model <code>" << Esc(cl.model->version())
      << "</code>, trained on the labelled messages in <code>tests/eval/</code>, the FAQ's "
         "questions and the golden conversations (<code>tools/train-classifier</code>; what "
         "it was trained on is in <code>knowledge/classifier.json</code>). It is asked only "
         "when no rule fires, and it never cancels a rule's escalation.</p>\n<ul>\n"
      << "<li>When it reads a possible red flag (a probability of at least " << cl.screen_threshold
      << "), the reply also asks the screening questions of the "
      << "dialog state <code>" << Esc(screen.empty() ? "(none set)" : screen)
      << "</code>; a yes escalates.</li>\n"
      << "<li>When it is sure (at least " << cl.escalate_threshold
      << " for a tier), it escalates to the kind it names, unless a rule's pattern matched "
         "and the message's own words cancelled it (negated, hypothetical, resolved).</li>\n"
         "</ul>\n"
      << "<p>First-look figures on blind sets, before and after, are in "
         "<code>tests/eval/BLIND.md</code>.</p>\n";
  } else {
    h << "<p class=\"warn\">No classifier is configured (<code>knowledge/classifier.json"
         "</code>): the rules alone decide.</p>\n";
  }
  h << "</main>\n<footer><p class=\"meta\">Generated by <code>backline export "
       "review</code>. Content version <code>"
    << Esc(version) << "</code>.</p></footer>\n</body>\n</html>\n";

  const std::string html = h.str();
  if (out_file == "-") {
    out << html;
    return 0;
  }
  std::ofstream f(out_file, std::ios::binary | std::ios::trunc);
  f << html;
  f.close();
  if (!f) {
    err << "backline export review: cannot write " << out_file << "\n";
    return 1;
  }
  out << "wrote " << out_file << ": " << spec.entries.size() << " answers, "
      << spec.red_flag_kinds.size() << " red-flag kinds, " << content->clinics.size()
      << " clinics, content version " << version << "\n";
  return 0;
}

}  // namespace backline::cli
