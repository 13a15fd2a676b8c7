#include "engine/capture.h"

#include <algorithm>
#include <iterator>
#include <vector>

namespace backline::engine {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

char Lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

std::string LowerAscii(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), Lower);
  return out;
}

// `s` without leading and trailing white space, and every run of white space inside it one
// space.
std::string Squeeze(std::string_view s) {
  std::string out;
  bool space = false;
  for (char c : s) {
    if (IsSpace(c)) {
      space = !out.empty();
      continue;
    }
    if (space) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}

// Removes the first of `leads` that `*s` starts with (compared in lower case, as whole words).
template <size_t N>
void StripLeadIn(std::string* s, const std::string_view (&leads)[N]) {
  const std::string lower = LowerAscii(*s);
  for (std::string_view lead : leads) {
    if (lower.size() > lead.size() && lower.compare(0, lead.size(), lead) == 0 &&
        lower[lead.size()] == ' ') {
      *s = s->substr(lead.size() + 1);
      return;
    }
  }
}

std::vector<std::string> Words(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s + " ") {
    if (c == ' ') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  return out;
}

// Words that are answers, requests, questions or symptoms, never a first name: "no", "what
// is morphine", "I want a nurse", "back pain". Names that are also words ("Rose", "Hope",
// "Will") are not here.
bool NotAName(const std::string& lower_word) {
  static constexpr std::string_view kWords[] = {
      "a",       "about", "am",    "an",      "and",    "any",    "anyone", "are",    "back",
      "but",     "call",  "can",   "cancel",  "cant",   "could",  "did",    "do",     "doctor",
      "does",    "dont",  "don't", "for",     "from",   "give",   "hello",  "help",   "hey",
      "hi",      "how",   "human", "hurt",    "hurts",  "i",      "idk",    "if",     "in",
      "is",      "it",    "leg",   "legs",    "me",     "mind",   "my",     "name",   "never",
      "no",      "nope",  "not",   "nothing", "number", "nurse",  "of",     "ok",     "okay",
      "on",      "or",    "pain",  "person",  "phone",  "please", "rather", "really", "should",
      "someone", "sorry", "stop",  "sure",    "tell",   "thank",  "thanks", "that",   "the",
      "this",    "to",    "want",  "was",     "what",   "when",   "where",  "which",  "who",
      "why",     "with",  "would", "yeah",    "yes",    "you",
  };
  return std::find(std::begin(kWords), std::end(kWords), lower_word) != std::end(kWords);
}

bool AsciiLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

// A letter of any script: ASCII letters, and every byte of a multi-byte UTF-8 character (the
// person's own alphabet; "José", "Zoë", "Siobhán", "Влад").
bool NameLetter(char c) { return AsciiLetter(c) || static_cast<unsigned char>(c) >= 0x80; }

bool IsNameWord(const std::string& w) {
  if (w.empty() || !NameLetter(w.front())) return false;
  for (char c : w) {
    if (!NameLetter(c) && c != '\'' && c != '-' && c != '.') return false;
  }
  return true;
}

// Leading lead-ins before a phone number or name ("my number is 07700 ...").
constexpr std::string_view kNameLeads[] = {"my first name is",
                                           "my name is",
                                           "first name is",
                                           "name is",
                                           "name's",
                                           "it is",
                                           "it's",
                                           "its",
                                           "i am",
                                           "i'm",
                                           "im",
                                           "this is",
                                           "call me"};
constexpr std::string_view kPhoneLeads[] = {"my phone number is",
                                            "my number is",
                                            "my mobile is",
                                            "my phone is",
                                            "phone number is",
                                            "number is",
                                            "it is",
                                            "it's",
                                            "its",
                                            "call me on",
                                            "call me at",
                                            "you can reach me on",
                                            "on",
                                            "at"};

// The NANP's national format, "(201) 555-0123", for 10 digits.
std::string NanpDisplay(const std::string& d) {
  return "(" + d.substr(0, 3) + ") " + d.substr(3, 3) + "-" + d.substr(6);
}

// A North American number of 10 digits: area code and exchange code NXX (N = 2-9), neither
// N11 (service codes: 411, 911), no area code with 9 in the middle (reserved), no 900
// (premium).
std::optional<PhoneNumber> Nanp(const std::string& d) {
  if (d.size() != 10) return std::nullopt;
  auto nxx = [&](size_t at) {
    return d[at] >= '2' && d[at] <= '9' && !(d[at + 1] == '1' && d[at + 2] == '1');
  };
  if (!nxx(0) || !nxx(3) || d[1] == '9' || d.compare(0, 3, "900") == 0) return std::nullopt;
  return PhoneNumber{"+1" + d, NanpDisplay(d)};
}

// A UK number's significant digits (after the 0 trunk prefix or +44): geographic 01 and 02,
// non-geographic 03, and mobiles 07 (not 070 personal numbers or 076 pagers, except 07624,
// the Isle of Man's mobiles), in the groups Ofcom's numbering plan and BT print them in.
std::optional<PhoneNumber> Uk(const std::string& s) {
  std::string display;
  const std::string n = "0" + s;
  if (s.size() == 10 && s[0] == '1' && (s[1] == '1' || s[2] == '1')) {
    display = n.substr(0, 4) + " " + n.substr(4, 3) + " " + n.substr(7);  // 0113 496 0000
  } else if (s[0] == '1' && (s.size() == 10 || s.size() == 9)) {
    display = n.substr(0, 5) + " " + n.substr(5);  // 01632 960142
  } else if (s.size() == 10 && s[0] == '2') {
    display = n.substr(0, 3) + " " + n.substr(3, 4) + " " + n.substr(7);  // 020 7946 0018
  } else if (s.size() == 10 && s[0] == '3') {
    display = n.substr(0, 4) + " " + n.substr(4, 3) + " " + n.substr(7);  // 0300 123 4567
  } else if (s.size() == 10 && s[0] == '7' && s[1] != '0' &&
             (s[1] != '6' || s.compare(0, 4, "7624") == 0)) {
    display = n.substr(0, 5) + " " + n.substr(5);  // 07700 900123
  } else {
    return std::nullopt;
  }
  return PhoneNumber{"+44" + s, display};
}

bool Nanpa(std::string_view country) { return country == "US" || country == "CA"; }

}  // namespace

std::optional<std::string> CaptureName(std::string_view text) {
  std::string s = Squeeze(text);
  while (!s.empty() && (s.back() == '.' || s.back() == '!' || s.back() == ',')) {
    s.pop_back();
    while (!s.empty() && s.back() == ' ') s.pop_back();
  }
  StripLeadIn(&s, kNameLeads);
  if (s.empty() || s.size() > 40) return std::nullopt;
  const std::vector<std::string> words = Words(s);
  if (words.empty() || words.size() > 3) return std::nullopt;
  for (const auto& w : words) {
    if (!IsNameWord(w) || NotAName(LowerAscii(w))) return std::nullopt;
  }
  return s;
}

std::optional<PhoneNumber> CapturePhone(std::string_view text, std::string_view country) {
  std::string s = Squeeze(text);
  while (!s.empty() && (s.back() == '.' || s.back() == '!')) s.pop_back();
  StripLeadIn(&s, kPhoneLeads);
  if (s.empty() || s.size() > 40) return std::nullopt;
  // "+44 (0)7700 900123": the trunk 0 in brackets, written for readers in the country.
  if (const size_t at = s.find("(0)"); at != std::string::npos) s.erase(at, 3);
  bool plus = false;
  std::string digits;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c >= '0' && c <= '9') {
      digits.push_back(c);
    } else if (c == '+' && digits.empty() && !plus) {
      plus = true;
    } else if (c != ' ' && c != '-' && c != '.' && c != '(' && c != ')' && c != '/') {
      return std::nullopt;  // letters, or anything else: not only a number
    }
  }
  // The international prefix: "+", or "00" as most of the world dials it.
  std::string international;
  if (plus) {
    international = digits;
  } else if (digits.size() > 2 && digits.compare(0, 2, "00") == 0) {
    international = digits.substr(2);
  }
  if (!plus && international.empty()) {
    // Written nationally.
    if (Nanpa(country)) {
      if (digits.size() == 11 && digits[0] == '1') digits.erase(0, 1);
      return Nanp(digits);
    }
    if (country == "GB") {
      if (digits.size() < 10 || digits[0] != '0' || digits[1] == '0') return std::nullopt;
      return Uk(digits.substr(1));
    }
    return std::nullopt;  // no rules for this country's national numbers
  }
  if (international.empty() || international[0] == '0') return std::nullopt;
  if (Nanpa(country)) {
    if (international[0] != '1') return std::nullopt;
    return Nanp(international.substr(1));
  }
  if (country == "GB") {
    if (international.compare(0, 2, "44") != 0) return std::nullopt;
    std::string rest = international.substr(2);
    if (!rest.empty() && rest[0] == '0') rest.erase(0, 1);  // "+44 07700 ...", a common slip
    if (rest.empty()) return std::nullopt;
    return Uk(rest);
  }
  // Another country: E.164's length, shown as typed in international form.
  if (international.size() < 8 || international.size() > 15) return std::nullopt;
  return PhoneNumber{"+" + international, "+" + international};
}

bool LooksLikePhone(std::string_view text) {
  int digits = 0;
  for (char c : text) {
    if (c >= '0' && c <= '9') {
      ++digits;
    } else if (!IsSpace(c) && c != '+' && c != '-' && c != '.' && c != '(' && c != ')' &&
               c != '/') {
      return false;
    }
  }
  return digits >= 3;
}

std::optional<std::string> CaptureText(std::string_view text, size_t max_length) {
  const std::string s = Squeeze(text);
  if (s.empty() || s.size() > max_length || s.find('?') != std::string::npos) return std::nullopt;
  const std::vector<std::string> words = Words(LowerAscii(s));
  static constexpr std::string_view kQuestionStarts[] = {
      "what", "how",  "why", "where", "which", "who",   "can", "could", "should", "is",
      "are",  "does", "do",  "did",   "will",  "would", "has", "have",  "am",     "may"};
  if (std::find(std::begin(kQuestionStarts), std::end(kQuestionStarts), words.front()) !=
      std::end(kQuestionStarts)) {
    return std::nullopt;
  }
  return s;
}

}  // namespace backline::engine
