#include "engine/analyzer.h"

#include <algorithm>

namespace backline::engine {
namespace {

// Whether `token` is `word` with a regular English ending ("stools" of "stool",
// "peeing" of "pee", "waking" of "wake", "bodies" of "body"). Stems alone are
// not enough against a bare word: Snowball makes "once" "onc", which is a
// synonym term of its own.
bool IsInflectionOf(std::string_view token, std::string_view word) {
  static constexpr std::string_view kEndings[] = {"s", "es", "ed", "d", "ing", "er", "ers"};
  const auto ends_with_one = [&](std::string_view base) {
    if (token.size() <= base.size() || token.substr(0, base.size()) != base) return false;
    const std::string_view rest = token.substr(base.size());
    for (std::string_view e : kEndings) {
      if (rest == e) return true;
    }
    return false;
  };
  if (ends_with_one(word)) return true;
  if (word.size() > 2 && word.back() == 'e' && ends_with_one(word.substr(0, word.size() - 1)))
    return true;  // "wake" -> "waking"
  if (word.size() > 2 && word.back() == 'y') {
    const std::string_view base = word.substr(0, word.size() - 1);
    return token == std::string(base) + "ies" ||
           token == std::string(base) + "ied";  // "body" -> "bodies"
  }
  return false;
}

}  // namespace

size_t Analysis::TokenAt(size_t pos) const {
  auto it = std::upper_bound(token_offset.begin(), token_offset.end(), pos);
  if (it == token_offset.begin()) return 0;
  const size_t idx = static_cast<size_t>(it - token_offset.begin()) - 1;
  // pos inside token idx, or in the space after it: the next token starts after
  // the space.
  if (pos >= token_offset[idx] + tokens[idx].text.size() && idx + 1 < tokens.size()) {
    return idx + 1;
  }
  return idx;
}

void SynonymMap::Add(std::string_view term, std::string_view canonical) {
  Entry e;
  e.term = std::string(term);
  for (const auto& w : SplitWords(FoldToAscii(term))) {
    e.stems.push_back(Stem(w));
    e.words.push_back(w);
  }
  for (const auto& w : SplitWords(FoldToAscii(canonical))) e.canonical.push_back(w);
  if (e.stems.empty() || e.canonical.empty()) return;
  by_first_[e.stems.front()].push_back(terms_.size());
  terms_.push_back(std::move(e));
}

void SynonymMap::Apply(std::vector<Token>* tokens,
                       std::vector<std::pair<std::string, std::string>>* applied) const {
  std::vector<Token> out;
  out.reserve(tokens->size());
  // Tokens are moved to `out` once passed; matching only reads tokens at or
  // after i, which are still in place.
  auto& in = *tokens;
  std::vector<std::string> stems(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    if (!in[i].is_break) stems[i] = Stem(in[i].text);
  }
  size_t i = 0;
  while (i < in.size()) {
    if (in[i].is_break) {
      out.push_back(std::move(in[i++]));
      continue;
    }
    const Entry* best = nullptr;
    if (auto it = by_first_.find(stems[i]); it != by_first_.end()) {
      for (size_t idx : it->second) {
        const Entry& e = terms_[idx];
        if (i + e.stems.size() > in.size()) continue;
        bool match = true;
        for (size_t k = 0; k < e.stems.size() && match; ++k) {
          // The same word, or an inflection of it ("stools" for "stool",
          // "bodies" for "body"), or two inflections of one word ("pees" for
          // "peed"); never a bare word against an inflected term ("scar" is
          // not "scared").
          const std::string& tok = in[i + k].text;
          const std::string& w = e.words[k];
          // Same stem is not enough: Snowball gives "private" and
          // "privates" one stem, and "privates" means genitals. Nor are the
          // two participles one word: "a confusing plan" is not "confused",
          // "tiring" is not "tired" (a term that means both lists both).
          const std::string& stem = stems[i + k];
          const auto ends = [](std::string_view word, std::string_view suffix) {
            return word.size() > suffix.size() &&
                   word.substr(word.size() - suffix.size()) == suffix;
          };
          const bool participles =
              (ends(tok, "ing") && ends(w, "ed")) || (ends(tok, "ed") && ends(w, "ing"));
          match = !in[i + k].is_break &&
                  (tok == w || (stem == e.stems[k] && !participles &&
                                (IsInflectionOf(tok, w) ||
                                 (IsInflectionOf(tok, stem) && IsInflectionOf(w, stem)))));
        }
        if (match && (!best || e.stems.size() > best->stems.size())) best = &e;
      }
    }
    if (!best) {
      out.push_back(std::move(in[i++]));
      continue;
    }
    std::string original;
    for (size_t k = 0; k < best->stems.size(); ++k) {
      if (k) original.push_back(' ');
      original += in[i + k].text;
    }
    std::string replacement;
    for (const auto& w : best->canonical) {
      if (!replacement.empty()) replacement.push_back(' ');
      replacement += w;
      out.push_back(Token{w, false});
    }
    if (applied && original != replacement) applied->emplace_back(original, replacement);
    i += best->stems.size();
  }
  *tokens = std::move(out);
}

Analyzer::Analyzer(const LanguageSpec& language, const std::vector<SynonymGroup>& synonyms,
                   const std::vector<std::string>& vocabulary,
                   const std::vector<std::string>& known_words)
    : normalizer_(language) {
  for (const auto& w : known_words) speller_.AddKnown(w);
  for (const auto& w : language.stopwords) {
    for (const auto& part : SplitWords(FoldToAscii(w))) stopwords_.insert(part);
  }
  for (const auto& g : synonyms) {
    for (const auto& t : g.terms) synonyms_.Add(t, g.canonical);
    synonyms_.Add(g.canonical, g.canonical);
  }
  // Everything the content says is known; words that stand for something are
  // repair targets.
  for (const auto& w : vocabulary) speller_.AddWord(w);
  for (const auto& g : synonyms) {
    for (const auto& w : SplitWords(FoldToAscii(g.canonical))) speller_.AddWord(w, 3);
    for (const auto& t : g.terms) {
      for (const auto& w : SplitWords(FoldToAscii(t))) speller_.AddWord(w, 3);
    }
  }
  for (const auto& w : stopwords_) speller_.AddKnown(w);
  auto add_known = [&](const std::vector<std::string>& phrases) {
    for (const auto& p : phrases) {
      for (const auto& w : SplitWords(FoldToAscii(p))) speller_.AddKnown(w);
    }
  };
  add_known(language.negation_cues);
  add_known(language.pseudo_negations);
  add_known(language.post_negation_cues);
  add_known(language.hypothetical_cues);
  add_known(language.current_cues);
  add_known(language.future_cues);
  add_known(language.imagined_cues);
  add_known(language.example_joiners);
  add_known(language.hedges);
  add_known(language.novelty_cues);
  add_known(language.resolved_cues);
  add_known(language.clause_breaks);
  for (const auto& [from, to] : language.contractions) {
    speller_.AddKnown(FoldToAscii(from));
    add_known({to});
  }
  speller_.Freeze();
}

Analysis Analyzer::Analyze(std::string_view utf8) const {
  Analysis a;
  a.tokens = normalizer_.Normalize(utf8);
  a.folded = JoinTokens(a.tokens);
  for (auto& t : a.tokens) {
    if (t.is_break) continue;
    std::string fixed = speller_.Correct(t.text);
    if (!fixed.empty()) {
      a.repairs.emplace_back(t.text, fixed);
      t.text = std::move(fixed);
    }
  }
  synonyms_.Apply(&a.tokens, &a.synonyms);
  a.token_offset.reserve(a.tokens.size());
  for (const auto& t : a.tokens) {
    if (!a.canonical.empty()) a.canonical.push_back(' ');
    a.token_offset.push_back(a.canonical.size());
    a.canonical += t.text;
  }
  a.terms = TermsOf(a.tokens);
  return a;
}

std::vector<std::string> Analyzer::TermsOf(const std::vector<Token>& tokens) const {
  std::vector<std::string> terms;
  for (const auto& t : tokens) {
    if (t.is_break || IsStopword(t.text)) continue;
    std::string s = Stem(t.text);
    if (IsStopword(s)) continue;
    terms.push_back(std::move(s));
  }
  return terms;
}

std::vector<std::string> Analyzer::TermsOfRange(const std::vector<Token>& tokens, size_t begin,
                                                size_t end, const std::vector<bool>& skip) const {
  std::vector<std::string> terms;
  for (size_t i = begin; i < end && i < tokens.size(); ++i) {
    const Token& t = tokens[i];
    if (t.is_break || (i < skip.size() && skip[i]) || IsStopword(t.text)) continue;
    std::string s = Stem(t.text);
    if (IsStopword(s)) continue;
    terms.push_back(std::move(s));
  }
  return terms;
}

std::vector<std::string> Analyzer::TokenTerms(const std::vector<Token>& tokens,
                                              const std::vector<bool>& skip) const {
  std::vector<std::string> terms(tokens.size());
  for (size_t i = 0; i < tokens.size(); ++i) {
    const Token& t = tokens[i];
    if (t.is_break || (i < skip.size() && skip[i]) || IsStopword(t.text)) continue;
    std::string s = Stem(t.text);
    if (IsStopword(s)) continue;
    terms[i] = std::move(s);
  }
  return terms;
}

std::vector<std::string> Analyzer::ContentTerms(std::string_view text) const {
  std::vector<Token> tokens = normalizer_.Normalize(text);
  synonyms_.Apply(&tokens, nullptr);
  return TermsOf(tokens);
}

}  // namespace backline::engine
