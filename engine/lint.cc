#include "engine/lint.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "engine/text.h"

namespace backline::engine {
namespace {

bool IsVowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }
bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }

std::string Fmt(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string Quote(std::string_view s) {
  std::string q = "\"";
  q.append(s.data(), s.size());
  q += "\"";
  return q;
}

// Splits `text` on whitespace.
std::vector<std::string_view> Tokens(std::string_view text) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() &&
           (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r'))
      ++i;
    size_t j = i;
    while (j < text.size() &&
           !(text[j] == ' ' || text[j] == '\t' || text[j] == '\n' || text[j] == '\r'))
      ++j;
    if (j > i) out.push_back(text.substr(i, j - i));
    i = j;
  }
  return out;
}

// The words and syllables of one whitespace-separated token: "slow-release"
// is one word of the syllables of both parts; "911" one word of 3 syllables;
// "--" or "(" no word at all.
void CountToken(std::string_view token, int* words, int* syllables) {
  int letters = 0, digits = 0, syl = 0;
  std::string part;
  auto flush = [&] {
    if (!part.empty()) syl += CountSyllables(part);
    part.clear();
  };
  for (char c : token) {
    if (IsLetter(c)) {
      part.push_back(c);
      ++letters;
    } else if (c == '\'') {
      continue;  // "don't" is one word
    } else {
      flush();
      if (IsDigit(c)) ++digits;
    }
  }
  flush();
  if (letters > 0) {
    ++*words;
    *syllables += syl;
  } else if (digits > 0) {
    ++*words;
    *syllables += std::min(digits, 3);
  }
}

// True when the token ends a sentence: it ends in . ! or ? (before closing
// quotes or brackets) and the next token, if any, starts with a capital, a
// digit, an opening quote or bracket.
bool EndsSentence(std::string_view token, std::string_view next) {
  size_t end = token.size();
  while (end > 0 && (token[end - 1] == '"' || token[end - 1] == ')' || token[end - 1] == '\''))
    --end;
  if (end == 0) return false;
  const char last = token[end - 1];
  if (last != '.' && last != '!' && last != '?') return false;
  if (next.empty()) return true;
  const char first = next.front();
  return IsUpper(first) || IsDigit(first) || first == '"' || first == '(' || first == '\'';
}

// Where paraphrase k of an entry is written.
SourceLocation QuestionWhere(const FaqEntry& e, size_t k) {
  return k < e.question_where.size() ? e.question_where[k] : e.where;
}

std::vector<std::string> SplitBar(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s + "|") {
    if (c == '|') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  return out;
}

// What a turn did, in a few words, for messages.
// The runs of plain words in a pattern ("in agony", "hurt", "soiled myself"):
// lowercase letters and single spaces between them, standing alone between
// the start, the end, a space, "|", "(" or ":" before and the end, a space,
// "|" or ")" after. A run next to anything else (an escape as in
// "sudden\\w*", a class, a quantifier as in "legs?") is part of a larger
// token and is left out.
std::vector<std::string> LiteralPhrases(std::string_view pattern) {
  std::vector<std::string> out;
  const auto is_lower = [](char c) { return c >= 'a' && c <= 'z'; };
  const auto opens = [](char c) { return c == ' ' || c == '|' || c == '(' || c == ':'; };
  const auto closes = [](char c) { return c == ' ' || c == '|' || c == ')'; };
  const size_t n = pattern.size();
  size_t i = 0;
  while (i < n) {
    if (!is_lower(pattern[i])) {
      ++i;
      continue;
    }
    const size_t start = i;
    const bool free_start = start == 0 || opens(pattern[start - 1]);
    size_t end = start;  // past the last whole word of the run
    for (;;) {
      while (i < n && is_lower(pattern[i])) ++i;
      if (i < n && !closes(pattern[i])) break;  // glued to syntax: not whole
      end = i;
      // One space and another word continue the run.
      if (i + 1 < n && pattern[i] == ' ' && is_lower(pattern[i + 1])) {
        ++i;
        continue;
      }
      break;
    }
    while (i < n && is_lower(pattern[i])) ++i;  // the rest of a glued word
    if (free_start && end > start) {
      out.emplace_back(pattern.substr(start, end - start));
    }
  }
  return out;
}

std::string Describe(const TurnResult& r) {
  const Reply& rep = r.reply;
  if (rep.kind == ReplyKind::kAnswer) return "the answer of entry '" + rep.entry_id + "'";
  if (rep.kind == ReplyKind::kEscalation) return "the red-flag escalation " + rep.red_flag_kind;
  if (!rep.intent_id.empty())
    return std::string("the ") + ReplyKindName(rep.kind) + " of intent '" + rep.intent_id + "'";
  if (rep.kind == ReplyKind::kClarify) {
    std::string s = "a clarifying question";
    if (!r.explanation.candidates.empty()) {
      s += " (top candidates:";
      for (size_t i = 0; i < r.explanation.candidates.size() && i < 3; ++i)
        s += (i ? ", '" : " '") + r.explanation.candidates[i].first + "'";
      s += ")";
    }
    return s;
  }
  return std::string("the ") + ReplyKindName(rep.kind) + " reply";
}

class Linter {
 public:
  Linter(const Engine& engine, const LintOptions& opts)
      : engine_(engine), spec_(engine.content()), opts_(opts) {}

  std::vector<LintFinding> Run() {
    Entries();
    Paraphrases();
    Overlaps();
    QuickReplies();
    Examples();
    PatternWords();
    ConceptWords();
    return std::move(out_);
  }

 private:
  void Add(const char* check, std::string entry, std::string rule, SourceLocation where,
           std::string message, Diagnostic::Severity sev = Diagnostic::Severity::kWarning) {
    out_.push_back(LintFinding{
        check, std::move(entry), std::move(rule),
        Diagnostic{sev, std::move(where), std::string(check) + ": " + std::move(message)}});
  }

  TurnResult TurnIn(const std::string& state, std::string_view text) const {
    SessionState s;
    s.state = state;
    return engine_.Turn(s, text, clinic_);
  }

  void Entries() {
    const LintSpec& l = spec_.lint;
    long today = 0;
    const bool aged = !opts_.today.empty() && DaysFromCivil(opts_.today, &today);
    for (const FaqEntry& e : spec_.entries) {
      const std::string text = Engine::Render(e.answer, clinic_);
      const TextStats st = ReadingStats(text);
      if (st.grade > l.max_grade) {
        Add("reading-level", e.id, "", e.where,
            "the answer of '" + e.id + "' reads at grade " + Fmt("%.1f", st.grade) +
                " (Flesch-Kincaid; at most " + Fmt("%.1f", l.max_grade) +
                "): " + std::to_string(st.words) + " words in " + std::to_string(st.sentences) +
                " sentences, " +
                Fmt("%.2f", static_cast<double>(st.syllables) / std::max(1, st.words)) +
                " syllables a word; shorter sentences and plainer words help");
      }
      if (static_cast<long>(text.size()) > l.max_answer_chars) {
        Add("answer-length", e.id, "", e.where,
            "the answer of '" + e.id + "' is " + std::to_string(text.size()) +
                " characters, more than a phone screen (" + std::to_string(l.max_answer_chars) +
                "): the person must scroll to reach its end");
      }
      // An entry with no sources at all is already a warning of
      // Engine::Compile; here: sources a reviewer cannot open.
      for (const Source& src : e.sources) {
        if (!src.url.empty()) continue;
        Add("sources", e.id, "", e.where,
            "source " + Quote(src.title) + " of '" + e.id +
                "' has no link: a clinician cannot check the answer against "
                "it");
      }
      long reviewed = 0;
      if (aged && DaysFromCivil(e.reviewed, &reviewed)) {
        const long age = today - reviewed;
        if (age > l.max_review_age_days) {
          Add("review-age", e.id, "", e.where,
              "entry '" + e.id + "' was reviewed on " + e.reviewed + ", " + std::to_string(age) +
                  " days ago (more than " + std::to_string(l.max_review_age_days) +
                  "): due for clinical review");
        } else if (age < 0) {
          Add("review-age", e.id, "", e.where,
              "entry '" + e.id + "' has a review date in the future (" + e.reviewed +
                  ", today is " + opts_.today + ")");
        }
      }
      long next = 0;
      if (aged && !e.next_review.empty() && DaysFromCivil(e.next_review, &next) && next < today) {
        Add("review-age", e.id, "", e.where,
            "entry '" + e.id + "' was due for review on " + e.next_review);
      }
      if (e.reviewed_by.empty() || e.next_review.empty()) {
        Add("review-owner", e.id, "", e.where,
            "entry '" + e.id + "' does not say " +
                (e.reviewed_by.empty() ? std::string("who reviewed it (\"reviewed_by\")")
                                       : std::string("when it is next due (\"next_review\")")));
      }
    }
  }

  // Each paraphrase, asked as the first message of a conversation, must get
  // its own entry's answer.
  void Paraphrases() {
    for (const FaqEntry& e : spec_.entries) {
      for (size_t k = 0; k < e.questions.size(); ++k) {
        const std::string& q = e.questions[k];
        const TurnResult r = TurnIn("", q);
        const Reply& rep = r.reply;
        if (rep.kind == ReplyKind::kEscalation) {
          std::string rules;
          for (const auto& m : r.explanation.red_flags) {
            if (m.affirmed() && m.kind == rep.red_flag_kind &&
                (", " + rules + ",").find(", " + m.rule + ",") == std::string::npos)
              rules += (rules.empty() ? "" : ", ") + m.rule;
          }
          Add("paraphrase-escalates", e.id, rules, QuestionWhere(e, k),
              "paraphrase " + Quote(q) + " of '" + e.id + "' triggers red flag " +
                  rep.red_flag_kind + " (rule " + rules +
                  "): a person asking it gets the escalation, not this "
                  "answer; reword it as a general question or narrow the "
                  "rule");
          continue;
        }
        if (rep.kind == ReplyKind::kAnswer && rep.entry_id == e.id) continue;
        const auto& cands = r.explanation.candidates;
        if (rep.kind == ReplyKind::kClarify && !cands.empty() && cands.front().first == e.id)
          continue;
        Add("paraphrase-confusion", e.id, "", QuestionWhere(e, k),
            "paraphrase " + Quote(q) + " of '" + e.id + "' gets " + Describe(r) +
                ", not this entry's answer");
      }
    }
  }

  // Paraphrases of two entries with nearly the same content words.
  void Overlaps() {
    struct Para {
      size_t entry;
      size_t k;
      std::vector<std::string> terms;  // sorted, unique
    };
    std::vector<Para> paras;
    const Analyzer& an = engine_.analyzer();
    for (size_t i = 0; i < spec_.entries.size(); ++i) {
      const FaqEntry& e = spec_.entries[i];
      for (size_t k = 0; k < e.questions.size(); ++k) {
        std::vector<std::string> t = an.ContentTerms(e.questions[k]);
        std::sort(t.begin(), t.end());
        t.erase(std::unique(t.begin(), t.end()), t.end());
        if (!t.empty()) paras.push_back(Para{i, k, std::move(t)});
      }
    }
    const double limit = spec_.lint.max_paraphrase_overlap;
    for (size_t a = 0; a < paras.size(); ++a) {
      for (size_t b = a + 1; b < paras.size(); ++b) {
        if (paras[a].entry == paras[b].entry) continue;
        const auto& x = paras[a].terms;
        const auto& y = paras[b].terms;
        size_t common = 0;
        for (size_t i = 0, j = 0; i < x.size() && j < y.size();) {
          if (x[i] == y[j]) {
            ++common, ++i, ++j;
          } else if (x[i] < y[j]) {
            ++i;
          } else {
            ++j;
          }
        }
        const double jaccard =
            static_cast<double>(common) / static_cast<double>(x.size() + y.size() - common);
        if (jaccard < limit) continue;
        const FaqEntry& ea = spec_.entries[paras[a].entry];
        const FaqEntry& eb = spec_.entries[paras[b].entry];
        const std::string& qa = ea.questions[paras[a].k];
        const std::string& qb = eb.questions[paras[b].k];
        Add("paraphrase-confusion", eb.id, "", QuestionWhere(eb, paras[b].k),
            "paraphrase " + Quote(qb) + " of '" + eb.id + "' shares most of its words (" +
                Fmt("%.2f", jaccard) + " overlap, at most " + Fmt("%.2f", limit) + ") with " +
                Quote(qa) + " of '" + ea.id + "' (" + ea.where.ToString() + ")");
      }
    }
  }

  // A quick reply offered in `state`, typed or tapped back there.
  void QuickReply(const std::string& label, const std::string& state, const std::string& origin,
                  const SourceLocation& where) {
    const TurnResult r = TurnIn(state, label);
    const ReplyKind kind = r.reply.kind;
    if (kind == ReplyKind::kFallback) {
      Add("quick-reply", "", "", where,
          "quick reply " + Quote(label) + " (" + origin +
              ") leads nowhere: tapped, it gets the fallback");
    } else if (kind == ReplyKind::kClarify) {
      Add("quick-reply", "", "", where,
          "quick reply " + Quote(label) + " (" + origin + ") leads to no answer: tapped, it gets " +
              Describe(r));
    } else if (kind == ReplyKind::kEscalation &&
               r.explanation.decision.rfind("escalation: red flag", 0) == 0) {
      Add("quick-reply", "", "", where,
          "quick reply " + Quote(label) + " (" + origin + ") triggers red flag " +
              r.reply.red_flag_kind + " when tapped");
    }
  }

  void QuickReplies() {
    const DialogSpec& d = spec_.dialog;
    const std::string start = d.start_state;
    if (auto it = d.messages.find("welcome_quick_replies"); it != d.messages.end()) {
      for (const auto& label : SplitBar(it->second)) QuickReply(label, start, "welcome", d.where);
    }
    for (const IntentSpec& in : spec_.intents) {
      const std::string state = in.next_state.empty() ? start : in.next_state;
      for (const auto& label : in.quick_replies)
        QuickReply(label, state, "intent '" + in.id + "'", in.where);
    }
    // The labels of a state's expected answers are shown as quick replies:
    // tapped in that state, each must take its own transition.
    for (const DialogStateSpec& st : d.states) {
      for (const Transition& t : st.transitions) {
        const TurnResult r = TurnIn(st.id, t.on);
        const std::string& dec = r.explanation.decision;
        if (dec.rfind("transition '" + t.on + "' of state '" + st.id + "'", 0) == 0 ||
            dec.rfind("escalation: answer '" + t.on + "' in state '" + st.id + "'", 0) == 0)
          continue;
        Add("quick-reply", "", "", t.where,
            "the answer " + Quote(t.on) + " offered in state '" + st.id +
                "' does not take its transition when tapped: it gets " + Describe(r) + " (" + dec +
                ")");
      }
    }
  }

  // Every example of a red-flag rule must escalate to the rule's kind. An
  // error: the examples are what clinicians sign off on the review sheet.
  void Examples() {
    for (const RedFlagRule& rule : spec_.red_flag_rules) {
      for (size_t k = 0; k < rule.examples.size(); ++k) {
        const std::string& ex = rule.examples[k];
        const TurnResult r = TurnIn("", ex);
        if (r.reply.kind == ReplyKind::kEscalation && r.reply.red_flag_kind == rule.kind) continue;
        const SourceLocation where =
            k < rule.example_where.size() ? rule.example_where[k] : rule.where;
        Add("red-flag-example", "", rule.id, where,
            "example " + Quote(ex) + " of rule '" + rule.id + "' does not escalate to " +
                rule.kind + ": it gets " + Describe(r),
            Diagnostic::Severity::kError);
      }
    }
  }

  // Patterns match the canonical text, so a word the normaliser always
  // rewrites (a synonym, a contraction, a misspelling it repairs) can never
  // match: "hurt myself" reads "pain myself" by the time a rule looks at it.
  // An error: such a word is a phrasing the rule's author meant to escalate
  // that silently does not.
  void PatternWords() {
    for (const RedFlagRule& rule : spec_.red_flag_rules) {
      const auto check = [&](const std::vector<std::string>& patterns,
                             const std::vector<SourceLocation>& where, const char* what) {
        for (size_t k = 0; k < patterns.size(); ++k) {
          for (const std::string& phrase : LiteralPhrases(patterns[k])) {
            const std::string canonical = engine_.analyzer().Analyze(phrase).canonical;
            if (canonical == phrase) continue;
            Add("red-flag-word", "", rule.id, k < where.size() ? where[k] : rule.where,
                std::string(what) + " " + std::to_string(k + 1) + " of rule '" + rule.id +
                    "' has " + Quote(phrase) +
                    ", which never reaches it: the normaliser makes it " + Quote(canonical) +
                    " first (synonyms, contractions or spelling); write " + Quote(canonical) +
                    " instead",
                Diagnostic::Severity::kError);
          }
        }
      };
      check(rule.patterns, rule.pattern_where, "pattern");
      check(rule.unless, rule.unless_where, "unless pattern");
      check(rule.requires_any, rule.requires_where, "requires pattern");
    }
    // The same holds for the cue lists that cancel a match by its words.
    const LanguageSpec& lang = spec_.language;
    for (const auto& [list, name] : {std::pair{&lang.figurative_phrases, "figurative_phrases"},
                                     std::pair{&lang.other_experiencers, "other_experiencers"},
                                     std::pair{&lang.writer_words, "writer_words"},
                                     std::pair{&lang.other_people, "other_people"},
                                     std::pair{&lang.message_frames, "message_frames"}}) {
      for (const std::string& phrase : *list) {
        const std::string canonical = engine_.analyzer().Analyze(phrase).canonical;
        if (canonical == phrase) continue;
        Add("red-flag-word", "", name, lang.where,
            std::string("language.json ") + name + " has " + Quote(phrase) +
                ", which never matches: the normaliser makes it " + Quote(canonical) +
                " first; write " + Quote(canonical) + " instead",
            Diagnostic::Severity::kError);
      }
    }
  }

  // Concepts are matched on the stems of the canonical text, so a word the
  // normaliser rewrites never matches (an error, as for patterns); a concept
  // no rule combines is dead weight a curator may think is working (a
  // warning).
  void ConceptWords() {
    std::set<std::string> used;
    for (const RedFlagRule& rule : spec_.red_flag_rules) {
      for (const auto& combination : rule.concepts)
        used.insert(combination.begin(), combination.end());
    }
    for (const IntentSpec& intent : spec_.intents) {
      for (const auto& combination : intent.concepts)
        used.insert(combination.begin(), combination.end());
    }
    if (!spec_.retrieval.clarify_concept.empty()) used.insert(spec_.retrieval.clarify_concept);
    for (const Concept& c : spec_.concepts) {
      if (!used.count(c.id)) {
        Add("concept-unused", "", c.id, c.where,
            "concept '" + c.id +
                "' is named by no red-flag rule's or intent's combination: "
                "its words do nothing",
            Diagnostic::Severity::kWarning);
      }
      for (size_t k = 0; k < c.words.size(); ++k) {
        const std::string& word = c.words[k];
        const std::string canonical = engine_.analyzer().Analyze(word).canonical;
        // Compared on stems, as concepts are matched: "not waking up" reads
        // "not wake up", which has the same stems.
        const auto stems = [](const std::string& text) {
          std::vector<std::string> out;
          for (const auto& w : SplitWords(FoldToAscii(text))) out.push_back(Stem(w));
          return out;
        };
        if (stems(canonical) == stems(word)) continue;
        Add("red-flag-word", "", c.id, k < c.word_where.size() ? c.word_where[k] : c.where,
            "concept '" + c.id + "' has " + Quote(word) +
                ", which never matches: the normaliser makes it " + Quote(canonical) +
                " first (synonyms, contractions or " + "spelling); write " + Quote(canonical) +
                " instead",
            Diagnostic::Severity::kError);
      }
    }
  }

  const Engine& engine_;
  const ContentSpec& spec_;
  const LintOptions& opts_;
  const Clinic clinic_;  // the default clinic: what most patients read
  std::vector<LintFinding> out_;
};

}  // namespace

int CountSyllables(std::string_view word) {
  std::string w;
  for (char c : word) {
    if (IsLetter(c)) w.push_back(static_cast<char>(c | 0x20));
  }
  if (w.empty()) return 0;
  const size_t n = w.size();
  // A vowel: a e i o u, y after the first letter, not the u of "qu"/"gu"
  // before a vowel (quick, guard).
  auto vowel = [&](size_t i) {
    const char c = w[i];
    if (c == 'y') return i > 0;
    if (c == 'u' && i > 0 && (w[i - 1] == 'q' || w[i - 1] == 'g') && i + 1 < n && IsVowel(w[i + 1]))
      return false;
    return IsVowel(c);
  };
  int count = 0;
  for (size_t i = 0; i < n; ++i) {
    if (!vowel(i) || (i > 0 && vowel(i - 1))) continue;
    ++count;
    // A group holding "ia", "io", "iu" or "ua" is two syllables (ra-di-a-tion,
    // o-pi-oid, se-ri-ous, ac-tu-al), except the palatal "cia", "tio", "sio",
    // "gio", "xio" (spe-cial, ques-tion, anx-ious).
    size_t j = i;
    while (j + 1 < n && vowel(j + 1)) ++j;
    for (size_t p = i; p < j; ++p) {
      const char a = w[p], b = w[p + 1];
      const bool split = (a == 'i' && (b == 'a' || b == 'o' || b == 'u')) || (a == 'u' && b == 'a');
      if (!split) continue;
      const char before = p > 0 ? w[p - 1] : ' ';
      if (a == 'i' &&
          (before == 'c' || before == 't' || before == 's' || before == 'g' || before == 'x'))
        continue;
      ++count;
      break;
    }
  }
  auto ends = [&](std::string_view s) {
    return n >= s.size() && w.compare(n - s.size(), s.size(), s) == 0;
  };
  auto consonant_at = [&](size_t i) { return !IsVowel(w[i]) && w[i] != 'y'; };
  if (count > 1) {
    if (ends("e") && !ends("ee") && !ends("ye") && n >= 2 && consonant_at(n - 2)) {
      // Silent final e (take, because), but "-le" after a consonant is
      // sounded (ta-ble, sim-ple).
      if (!(ends("le") && n >= 3 && consonant_at(n - 3))) --count;
    } else if (ends("es") && n >= 3 && consonant_at(n - 3)) {
      // makes, times: silent; boxes, pieces, causes, wishes: sounded.
      const char c = w[n - 3];
      const bool sibilant =
          c == 's' || c == 'x' || c == 'z' || c == 'c' || c == 'g' || ends("ches") || ends("shes");
      if (!sibilant) --count;
    } else if (ends("ed") && n >= 3 && consonant_at(n - 3) && w[n - 3] != 't' && w[n - 3] != 'd') {
      --count;  // jumped, used; but want-ed, need-ed
    } else if (ends("ely") && n >= 4 && consonant_at(n - 4)) {
      --count;  // like-ly, safe-ly
    }
  }
  // The silent e of "-ement" (move-ment, state-ment), in longer words only
  // (el-e-ment is three).
  if (count > 1 && n >= 8 && ends("ement") && consonant_at(n - 6)) --count;
  return std::max(count, 1);
}

TextStats ReadingStats(std::string_view text) {
  TextStats st;
  size_t line_start = 0;
  while (line_start <= text.size()) {
    size_t nl = text.find('\n', line_start);
    if (nl == std::string_view::npos) nl = text.size();
    const std::vector<std::string_view> toks = Tokens(text.substr(line_start, nl - line_start));
    int open = 0;  // words in the sentence not yet ended
    for (size_t i = 0; i < toks.size(); ++i) {
      int words = 0;
      CountToken(toks[i], &words, &st.syllables);
      st.words += words;
      open += words;
      const std::string_view next = i + 1 < toks.size() ? toks[i + 1] : "";
      if (open > 0 && EndsSentence(toks[i], next)) {
        ++st.sentences;
        open = 0;
      }
    }
    if (open > 0) ++st.sentences;  // a line break ends a sentence
    line_start = nl + 1;
  }
  if (st.words > 0) {
    st.grade = 0.39 * st.words / st.sentences + 11.8 * st.syllables / st.words - 15.59;
  }
  return st;
}

bool DaysFromCivil(std::string_view s, long* days) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u}) {
    if (!IsDigit(s[i])) return false;
  }
  auto num = [&](size_t pos, size_t len) {
    long v = 0;
    for (size_t i = pos; i < pos + len; ++i) v = v * 10 + (s[i] - '0');
    return v;
  };
  long y = num(0, 4);
  const long m = num(5, 2), d = num(8, 2);
  if (m < 1 || m > 12 || d < 1 || d > 31) return false;
  // Howard Hinnant's days_from_civil.
  y -= m <= 2;
  const long era = (y >= 0 ? y : y - 399) / 400;
  const long yoe = y - era * 400;
  const long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  *days = era * 146097 + doe - 719468;
  return true;
}

std::vector<LintFinding> Lint(const Engine& engine, const LintOptions& opts) {
  return Linter(engine, opts).Run();
}

}  // namespace backline::engine
