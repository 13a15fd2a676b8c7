#include "engine/pattern.h"

#include <algorithm>

#include <re2/re2.h>
#include <re2/set.h>

namespace backline::engine {
namespace {

// Every Pattern's options, and a PatternSet's.
RE2::Options Options() {
  RE2::Options opts;
  opts.set_log_errors(false);
  opts.set_max_mem(8 << 20);
  opts.set_case_sensitive(false);
  return opts;
}

}  // namespace

Pattern::~Pattern() = default;

StatusOr<std::unique_ptr<Pattern>> Pattern::Compile(std::string_view source, bool raw) {
  const RE2::Options opts = Options();
  if (!raw) {
    // Check the curator's own text first: an error must describe what they
    // wrote, and a fragment like "numb)|(?:x" must not become valid by being
    // wrapped.
    RE2 alone(re2::StringPiece(source.data(), source.size()), opts);
    if (!alone.ok()) {
      std::string msg = alone.error();
      if (!alone.error_arg().empty()) msg += " (at \"" + alone.error_arg() + "\")";
      return Status::InvalidArgument(msg);
    }
  }
  std::string wrapped = raw ? std::string(source) : "\\b(?:" + std::string(source) + ")\\b";
  auto re = std::make_unique<RE2>(wrapped, opts);
  if (!re->ok()) {
    std::string msg = re->error();
    if (!re->error_arg().empty()) msg += " (at \"" + re->error_arg() + "\")";
    return Status::InvalidArgument(msg);
  }
  std::unique_ptr<Pattern> p(new Pattern());
  p->re_ = std::move(re);
  p->source_ = std::string(source);
  return p;
}

StatusOr<std::unique_ptr<Pattern>> Pattern::CompileAny(const std::vector<std::string>& sources) {
  std::string joined;
  for (const auto& s : sources) {
    auto one = Compile(s);
    if (!one.ok()) return one.status();
    if (!joined.empty()) joined += "|";
    joined += "(?:" + s + ")";
  }
  if (joined.empty()) return Status::InvalidArgument("no patterns");
  return Compile(joined);
}

std::vector<Pattern::Match> Pattern::FindAllWithGroups(std::string_view text) const {
  std::vector<Match> out;
  const int n = 1 + re_->NumberOfCapturingGroups();
  std::vector<re2::StringPiece> sub(static_cast<size_t>(n));
  re2::StringPiece input(text.data(), text.size());
  size_t pos = 0;
  while (pos <= text.size() &&
         re_->Match(input, pos, text.size(), RE2::UNANCHORED, sub.data(), n)) {
    Match m;
    m.begin = static_cast<size_t>(sub[0].data() - text.data());
    m.end = m.begin + sub[0].size();
    for (size_t g = 1; g < sub.size(); ++g) {
      if (sub[g].data() == nullptr || sub[g].empty()) continue;
      const size_t b = static_cast<size_t>(sub[g].data() - text.data());
      m.groups.emplace_back(b, b + sub[g].size());
    }
    pos = m.end > m.begin ? m.end : m.end + 1;
    out.push_back(std::move(m));
  }
  return out;
}

bool Pattern::Matches(std::string_view text) const {
  return RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *re_);
}

std::vector<std::pair<size_t, size_t>> Pattern::FindAll(std::string_view text) const {
  std::vector<std::pair<size_t, size_t>> out;
  re2::StringPiece input(text.data(), text.size());
  re2::StringPiece match;
  size_t pos = 0;
  while (pos <= text.size() && re_->Match(input, pos, text.size(), RE2::UNANCHORED, &match, 1)) {
    const size_t begin = static_cast<size_t>(match.data() - text.data());
    const size_t end = begin + match.size();
    out.emplace_back(begin, end);
    pos = end > begin ? end : end + 1;
  }
  return out;
}

struct PatternSet::Rep {
  Rep() : set(Options(), RE2::UNANCHORED) {}
  RE2::Set set;
};

PatternSet::~PatternSet() = default;

StatusOr<std::unique_ptr<PatternSet>> PatternSet::Compile(
    const std::vector<const Pattern*>& patterns) {
  std::unique_ptr<PatternSet> s(new PatternSet());
  s->rep_ = std::make_unique<Rep>();
  for (const Pattern* p : patterns) {
    // Each regex compiled on its own already, so this parses; RE2::Set gives
    // the indices 0, 1, 2... in the order they are added.
    std::string error;
    if (s->rep_->set.Add(p->re_->pattern(), &error) < 0) {
      return Status::InvalidArgument("pattern \"" + p->source() +
                                     "\" does not go into a set: " + error);
    }
  }
  if (!s->rep_->set.Compile()) {
    return Status::InvalidArgument("re2 cannot build one set of these " +
                                   std::to_string(patterns.size()) +
                                   " patterns within its memory limit");
  }
  return s;
}

bool PatternSet::Match(std::string_view text, std::vector<int>* matched) const {
  const re2::StringPiece input(text.data(), text.size());
  RE2::Set::ErrorInfo error{RE2::Set::kNoError};
  // Most texts match nothing. Asked without indices, re2 allocates nothing
  // and stops at the first match; only then is it asked which.
  if (!rep_->set.Match(input, nullptr, &error)) {
    matched->clear();
    return error.kind == RE2::Set::kNoError;  // no error: nothing matched
  }
  if (!rep_->set.Match(input, matched, &error)) {
    matched->clear();
    return false;  // something matched, but re2 could not say what
  }
  std::sort(matched->begin(), matched->end());
  return true;
}

}  // namespace backline::engine
