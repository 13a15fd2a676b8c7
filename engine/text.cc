#include "engine/text.h"

#include <libstemmer.h>

#include <cstdint>
#include <unordered_map>

namespace backline::engine {
namespace {

// Decodes one UTF-8 sequence at s[*i]; returns the code point, or 0xFFFD for
// invalid input (and advances past exactly one byte in that case).
char32_t DecodeOne(std::string_view s, size_t* i) {
  const auto b0 = static_cast<unsigned char>(s[*i]);
  if (b0 < 0x80) {
    ++*i;
    return b0;
  }
  int len = 0;
  char32_t cp = 0;
  if ((b0 & 0xE0) == 0xC0) {
    len = 2;
    cp = b0 & 0x1Fu;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3;
    cp = b0 & 0x0Fu;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4;
    cp = b0 & 0x07u;
  } else {
    ++*i;
    return 0xFFFD;
  }
  if (*i + static_cast<size_t>(len) > s.size()) {
    ++*i;
    return 0xFFFD;
  }
  for (int k = 1; k < len; ++k) {
    const auto b = static_cast<unsigned char>(s[*i + static_cast<size_t>(k)]);
    if ((b & 0xC0) != 0x80) {
      ++*i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (b & 0x3Fu);
  }
  // Reject overlong forms and surrogates.
  if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
      (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
    ++*i;
    return 0xFFFD;
  }
  *i += static_cast<size_t>(len);
  return cp;
}

// Latin-1 Supplement and Latin Extended-A letters folded to ASCII; nullptr when
// not a letter.
const char* FoldLatin(char32_t cp) {
  static const char* const kLatin1[64] = {
      // U+00C0 .. U+00FF
      "a", "a", "a", "a", "a", "a", "ae", "c",     "e", "e", "e", "e", "i", "i", "i",  "i",
      "d", "n", "o", "o", "o", "o", "o",  nullptr, "o", "u", "u", "u", "u", "y", "th", "ss",
      "a", "a", "a", "a", "a", "a", "ae", "c",     "e", "e", "e", "e", "i", "i", "i",  "i",
      "d", "n", "o", "o", "o", "o", "o",  nullptr, "o", "u", "u", "u", "u", "y", "th", "y"};
  if (cp >= 0xC0 && cp <= 0xFF) return kLatin1[cp - 0xC0];
  if (cp >= 0x100 && cp <= 0x17F) {
    // Latin Extended-A comes in case pairs; map by ranges of the base letter.
    static const struct {
      char32_t from, to;
      const char* letter;
    } kRanges[] = {
        {0x100, 0x105, "a"}, {0x106, 0x10D, "c"},  {0x10E, 0x111, "d"}, {0x112, 0x11B, "e"},
        {0x11C, 0x123, "g"}, {0x124, 0x127, "h"},  {0x128, 0x131, "i"}, {0x132, 0x133, "ij"},
        {0x134, 0x135, "j"}, {0x136, 0x138, "k"},  {0x139, 0x142, "l"}, {0x143, 0x14B, "n"},
        {0x14C, 0x151, "o"}, {0x152, 0x153, "oe"}, {0x154, 0x159, "r"}, {0x15A, 0x161, "s"},
        {0x162, 0x167, "t"}, {0x168, 0x173, "u"},  {0x174, 0x175, "w"}, {0x176, 0x178, "y"},
        {0x179, 0x17E, "z"}, {0x17F, 0x17F, "s"}};
    for (const auto& r : kRanges) {
      if (cp >= r.from && cp <= r.to) return r.letter;
    }
  }
  return nullptr;
}

bool IsWordChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '\''; }

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool IsBreakChar(char c) {
  return c == '.' || c == ',' || c == ';' || c == ':' || c == '!' || c == '?';
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Whether CollapseRepeats would change the word: a letter three times in a row.
bool HasRepeatRun(std::string_view word) {
  for (size_t i = 2; i < word.size(); ++i) {
    if (word[i] == word[i - 1] && word[i] == word[i - 2] && !IsDigit(word[i])) return true;
  }
  return false;
}

std::string CollapseRepeats(std::string_view word) {
  std::string out;
  out.reserve(word.size());
  for (char c : word) {
    const size_t n = out.size();
    if (n >= 2 && out[n - 1] == c && out[n - 2] == c && !IsDigit(c)) continue;
    out.push_back(c);
  }
  return out;
}

std::string StripApostrophes(std::string_view word) {
  std::string out;
  for (char c : word) {
    if (c != '\'') out.push_back(c);
  }
  return out;
}

}  // namespace

std::string FoldToAscii(std::string_view utf8) {
  std::string out;
  out.reserve(utf8.size());
  size_t i = 0;
  while (i < utf8.size()) {
    const char32_t cp = DecodeOne(utf8, &i);
    if (cp < 0x80) {
      char c = static_cast<char>(cp);
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (c == '`') c = '\'';
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
      out.push_back(c);
      continue;
    }
    if (const char* folded = FoldLatin(cp)) {
      out += folded;
      continue;
    }
    switch (cp) {
      case 0x2018:
      case 0x2019:
      case 0x201B:
      case 0x2032:
      case 0x02BC:
      case 0x00B4:
        out.push_back('\'');
        break;
      case 0x201C:
      case 0x201D:
      case 0x201E:
      case 0x2033:
      case 0x00AB:
      case 0x00BB:
        out.push_back('"');
        break;
      case 0x2010:
      case 0x2011:
      case 0x2012:
      case 0x2013:
      case 0x2014:
      case 0x2015:
      case 0x2212:
        out.push_back('-');
        break;
      case 0x2026:
        out += "...";
        break;
      case 0x00BF:  // inverted question mark
      case 0xFF1F:  // fullwidth question mark
        out.push_back('?');
        break;
      case 0xFF01:
        out.push_back('!');
        break;
      case 0x3002:
      case 0xFF0E:
        out.push_back('.');
        break;
      case 0xFF0C:
      case 0x3001:
        out.push_back(',');
        break;
      default:
        out.push_back(' ');  // other scripts, emoji, spaces, invalid bytes
        break;
    }
  }
  return out;
}

std::string Stem(std::string_view w) {
  // Snowball's English (Porter 2) stemmer. A stemmer object keeps state
  // between calls, so each thread has its own.
  struct Stemmer {
    sb_stemmer* s = sb_stemmer_new("english", "UTF_8");
    ~Stemmer() {
      if (s) sb_stemmer_delete(s);
    }
  };
  thread_local Stemmer stemmer;
  if (w.size() <= 2 || !stemmer.s) return std::string(w);
  // A turn stems the same few words several times (synonyms, retrieval terms,
  // concepts), and Snowball costs about 120 ns a word: a small per-thread memo,
  // emptied when full so odd input cannot grow it, makes repeats a lookup.
  thread_local std::unordered_map<std::string, std::string> memo;
  const std::string key(w);
  if (auto it = memo.find(key); it != memo.end()) return it->second;
  const sb_symbol* out = sb_stemmer_stem(stemmer.s, reinterpret_cast<const sb_symbol*>(w.data()),
                                         static_cast<int>(w.size()));
  if (!out) return key;  // out of memory: the word itself
  std::string stem(reinterpret_cast<const char*>(out),
                   static_cast<size_t>(sb_stemmer_length(stemmer.s)));
  if (memo.size() >= 8192) memo.clear();
  memo.emplace(key, stem);
  return stem;
}

std::vector<std::string> SplitWords(std::string_view folded) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : folded) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if ((c >= 'a' && c <= 'z') || IsDigit(c)) {
      cur.push_back(c);
    } else if (c == '\'') {
      // kept inside a word only when the caller wants apostrophes: content
      // words drop them
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

TextNormalizer::TextNormalizer(const LanguageSpec& spec) {
  for (const auto& [from, to] : spec.contractions) {
    std::string key = FoldToAscii(from);
    if (key.empty()) continue;
    contraction_keys_.set(WordQuickKey(key));
    contractions_[key] = SplitWords(FoldToAscii(to));
  }
}

void TextNormalizer::AppendWord(std::string word, std::vector<Token>* out) const {
  // Strip leading and trailing apostrophes (quotes), then try the contraction
  // table.
  while (!word.empty() && word.front() == '\'') word.erase(word.begin());
  while (!word.empty() && word.back() == '\'') word.pop_back();
  if (word.empty()) return;
  if (HasRepeatRun(word)) word = CollapseRepeats(word);
  if (!contraction_keys_.test(WordQuickKey(word))) {
    // Not a contraction; nor, with no apostrophe inside, can it become one below.
    if (word.find('\'') == std::string::npos) {
      out->push_back(Token{std::move(word), false});
      return;
    }
  } else if (auto it = contractions_.find(word); it != contractions_.end()) {
    for (const auto& w : it->second) out->push_back(Token{w, false});
    return;
  }
  if (word.find('\'') != std::string::npos) {
    if (EndsWith(word, "'s")) {
      word.resize(word.size() - 2);  // possessive ("dad's") or "is" (handled by the table)
    }
    word = StripApostrophes(word);
    if (auto it = contractions_.find(word); it != contractions_.end()) {
      for (const auto& w : it->second) out->push_back(Token{w, false});
      return;
    }
  }
  if (!word.empty()) out->push_back(Token{std::move(word), false});
}

std::vector<Token> TextNormalizer::Normalize(std::string_view utf8) const {
  const std::string folded = FoldToAscii(utf8);
  std::vector<Token> out;
  std::string word;
  const size_t n = folded.size();
  for (size_t i = 0; i < n; ++i) {
    const char c = folded[i];
    // A decimal point or comma inside a number stays in the number ("38.4",
    // "1,000").
    if ((c == '.' || c == ',') && !word.empty() && IsDigit(word.back()) && i + 1 < n &&
        IsDigit(folded[i + 1])) {
      if (c == '.') word.push_back('.');
      continue;
    }
    if (IsWordChar(c)) {
      word.push_back(c);
      continue;
    }
    if (!word.empty()) {
      AppendWord(std::move(word), &out);
      word.clear();
    }
    if (IsBreakChar(c)) {
      if (out.empty() || !out.back().is_break) {
        out.push_back(Token{std::string(1, c), true});
      }
    }
  }
  if (!word.empty()) AppendWord(std::move(word), &out);
  // Drop breaks at the very start.
  size_t first = 0;
  while (first < out.size() && out[first].is_break) ++first;
  if (first > 0) out.erase(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(first));
  return out;
}

std::string JoinTokens(const std::vector<Token>& tokens) {
  std::string s;
  for (const auto& t : tokens) {
    if (!s.empty()) s.push_back(' ');
    s += t.text;
  }
  return s;
}

}  // namespace backline::engine
