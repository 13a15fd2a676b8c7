#include "knowledge/json_file.h"

#include <fstream>
#include <sstream>

namespace backline::knowledge {
namespace {

std::string EscapePointerToken(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out.push_back(c);
  }
  return out;
}

// A forgiving scanner over JSON-with-comments that records where each value
// starts. It runs only on text nlohmann already accepted, so it need not report
// errors.
class Scanner {
 public:
  Scanner(const std::string& text, std::unordered_map<std::string, std::pair<int, int>>* out)
      : t_(text), out_(out) {}

  void Run() {
    SkipSpace();
    Value("");
  }

 private:
  void Advance() {
    if (i_ < t_.size()) {
      if (t_[i_] == '\n') {
        ++line_;
        col_ = 1;
      } else if ((static_cast<unsigned char>(t_[i_]) & 0xC0) != 0x80) {
        ++col_;
      }
      ++i_;
    }
  }
  void SkipSpace() {
    while (i_ < t_.size()) {
      const char c = t_[i_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
        Advance();
      } else if (c == '/' && i_ + 1 < t_.size() && t_[i_ + 1] == '/') {
        while (i_ < t_.size() && t_[i_] != '\n') Advance();
      } else if (c == '/' && i_ + 1 < t_.size() && t_[i_ + 1] == '*') {
        Advance();
        Advance();
        while (i_ + 1 < t_.size() && !(t_[i_] == '*' && t_[i_ + 1] == '/')) Advance();
        Advance();
        Advance();
      } else {
        break;
      }
    }
  }
  std::string String() {
    std::string s;
    Advance();  // opening quote
    while (i_ < t_.size() && t_[i_] != '"') {
      if (t_[i_] == '\\') {
        Advance();
        if (i_ < t_.size()) {
          const char e = t_[i_];
          if (e == 'n')
            s.push_back('\n');
          else if (e == 't')
            s.push_back('\t');
          else if (e == 'u')
            s += "?";  // keys with \u escapes are not used in our files
          else
            s.push_back(e);
          Advance();
          if (e == 'u')
            for (int k = 0; k < 4; ++k) Advance();
        }
        continue;
      }
      s.push_back(t_[i_]);
      Advance();
    }
    Advance();  // closing quote
    return s;
  }
  void Value(const std::string& ptr) {
    SkipSpace();
    if (i_ >= t_.size()) return;
    (*out_)[ptr] = {line_, col_};
    const char c = t_[i_];
    if (c == '{') {
      Advance();
      SkipSpace();
      while (i_ < t_.size() && t_[i_] != '}') {
        if (t_[i_] != '"') {
          Advance();
          continue;
        }
        const int kl = line_, kc = col_;
        std::string key = String();
        SkipSpace();
        if (i_ < t_.size() && t_[i_] == ':') Advance();
        const std::string child = ptr + "/" + EscapePointerToken(key);
        Value(child);
        (*out_)[child + "#key"] = {kl, kc};
        SkipSpace();
        if (i_ < t_.size() && t_[i_] == ',') Advance();
        SkipSpace();
      }
      Advance();
    } else if (c == '[') {
      Advance();
      SkipSpace();
      int idx = 0;
      while (i_ < t_.size() && t_[i_] != ']') {
        Value(ptr + "/" + std::to_string(idx++));
        SkipSpace();
        if (i_ < t_.size() && t_[i_] == ',') Advance();
        SkipSpace();
      }
      Advance();
    } else if (c == '"') {
      String();
    } else {
      while (i_ < t_.size() && t_[i_] != ',' && t_[i_] != '}' && t_[i_] != ']' && t_[i_] != ' ' &&
             t_[i_] != '\n' && t_[i_] != '\t' && t_[i_] != '\r' && t_[i_] != '/') {
        Advance();
      }
    }
  }

  const std::string& t_;
  std::unordered_map<std::string, std::pair<int, int>>* out_;
  size_t i_ = 0;
  int line_ = 1;
  int col_ = 1;
};

// Line and column of a byte offset.
// Where nlohmann's parser stops, for a failure whose exception carries no
// offset: a number too large for a double (out_of_range 406). Accepts every
// value; keeps the first error's offset (just past its token) and token.
class ErrorLocator : public nlohmann::json_sax<nlohmann::json> {
 public:
  size_t offset = 0;
  std::string token;

  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string& last_token,
                   const nlohmann::json::exception&) override {
    offset = position;
    token = last_token;
    return false;
  }
};

// The byte offset where `text` first opens its (kMaxDepth + 1)th nested
// array or object, outside strings and comments, or npos. Runs before the
// parser and the recursive Scanner, so neither sees such a file.
size_t TooDeepAt(const std::string& text, int max_depth) {
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '"') {
      for (++i; i < text.size() && text[i] != '"'; ++i) {
        if (text[i] == '\\') ++i;
      }
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '/') {
      while (i < text.size() && text[i] != '\n') ++i;
    } else if (c == '/' && i + 1 < text.size() && text[i + 1] == '*') {
      i += 2;
      while (i + 1 < text.size() && !(text[i] == '*' && text[i + 1] == '/')) ++i;
      ++i;
    } else if (c == '[' || c == '{') {
      if (++depth > max_depth) return i;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return std::string::npos;
}

std::pair<int, int> LineCol(const std::string& text, size_t offset) {
  int line = 1, col = 1;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++col;
    }
  }
  return {line, col};
}

}  // namespace

void Error(std::vector<engine::Diagnostic>* diags, engine::SourceLocation where, std::string msg) {
  diags->push_back(
      engine::Diagnostic{engine::Diagnostic::Severity::kError, std::move(where), std::move(msg)});
}

bool JsonFile::Load(const std::string& path, const std::string& display, JsonFile* out,
                    std::vector<engine::Diagnostic>* diags) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    Error(diags, engine::SourceLocation{display, 0, 0}, "cannot open file");
    return false;
  }
  // Refuse an oversized file before reading it into memory.
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  if (size > static_cast<std::streamoff>(kMaxBytes)) {
    Error(diags, engine::SourceLocation{display, 1, 1},
          "file is " + std::to_string(size) + " bytes; a content file may be at most " +
              std::to_string(kMaxBytes >> 20) + " MiB");
    return false;
  }
  in.seekg(0, std::ios::beg);
  std::ostringstream ss;
  ss << in.rdbuf();
  return Parse(ss.str(), display, out, diags);
}

bool JsonFile::Parse(std::string text, const std::string& display, JsonFile* out,
                     std::vector<engine::Diagnostic>* diags) {
  out->name_ = display;
  out->text_ = std::move(text);
  if (out->text_.size() > kMaxBytes) {
    Error(diags, engine::SourceLocation{display, 1, 1},
          "file is " + std::to_string(out->text_.size()) +
              " bytes; a content file may be at most " + std::to_string(kMaxBytes >> 20) + " MiB");
    return false;
  }
  if (const size_t at = TooDeepAt(out->text_, kMaxDepth); at != std::string::npos) {
    auto [line, col] = LineCol(out->text_, at);
    Error(diags, engine::SourceLocation{display, line, col},
          "nested more than " + std::to_string(kMaxDepth) +
              " levels deep (lists and objects inside each other); content files need a "
              "handful");
    return false;
  }
  try {
    out->root_ = nlohmann::json::parse(out->text_, nullptr, /*allow_exceptions=*/true,
                                       /*ignore_comments=*/true);
  } catch (const nlohmann::json::parse_error& e) {
    auto [line, col] = LineCol(out->text_, e.byte > 0 ? e.byte - 1 : 0);
    std::string msg = e.what();
    // "[json.exception.parse_error.101] parse error at line 3, column 5: syntax
    // error ..."
    if (auto p = msg.find("syntax error"); p != std::string::npos) msg = msg.substr(p);
    Error(diags, engine::SourceLocation{display, line, col}, "invalid JSON: " + msg);
    return false;
  } catch (const nlohmann::json::exception& e) {
    // Well-formed, but not representable: "number overflow parsing '1e999'".
    // This exception has no offset, so a second pass finds where it stopped.
    ErrorLocator where;
    nlohmann::json::sax_parse(out->text_, &where, nlohmann::json::input_format_t::json,
                              /*strict=*/true, /*ignore_comments=*/true);
    const size_t start = where.offset >= where.token.size() ? where.offset - where.token.size() : 0;
    auto [line, col] = LineCol(out->text_, start);
    std::string msg = e.what();  // "[json.exception.out_of_range.406] number ..."
    if (auto p = msg.find("] "); p != std::string::npos) msg = msg.substr(p + 2);
    Error(diags, engine::SourceLocation{display, line, col},
          "invalid JSON: " + msg + " (too large for a number)");
    return false;
  }
  out->Index();
  return true;
}

void JsonFile::Index() {
  positions_.clear();
  Scanner(text_, &positions_).Run();
}

engine::SourceLocation JsonFile::At(const std::string& pointer) const {
  std::string p = pointer;
  while (true) {
    if (auto it = positions_.find(p); it != positions_.end()) {
      return engine::SourceLocation{name_, it->second.first, it->second.second};
    }
    if (p.empty()) break;
    const size_t slash = p.rfind('/');
    p = slash == std::string::npos ? std::string() : p.substr(0, slash);
  }
  return engine::SourceLocation{name_, 1, 1};
}

const nlohmann::json* ListUnder(const JsonFile& f, const char* key, const char* shape,
                                std::initializer_list<const char*> root_keys,
                                std::vector<engine::Diagnostic>* diags) {
  const nlohmann::json& root = f.root();
  if (!root.is_object() || !root.contains(key) || !root[key].is_array()) {
    Error(diags, f.At(""), shape);
    return nullptr;
  }
  CheckKeys(f, root, "", root_keys, diags);
  return &root[key];
}

bool IsObjectItem(const JsonFile& f, const nlohmann::json& item, const std::string& pointer,
                  const char* what, std::vector<engine::Diagnostic>* diags) {
  if (item.is_object()) return true;
  Error(diags, f.At(pointer), std::string(what) + " must be an object");
  return false;
}

bool GetString(const JsonFile& f, const nlohmann::json& obj, const std::string& pointer,
               const char* key, bool required, std::string* out,
               std::vector<engine::Diagnostic>* diags) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) Error(diags, f.At(pointer), std::string("missing field \"") + key + "\"");
    return !required;
  }
  if (!it->is_string()) {
    Error(diags, f.At(pointer + "/" + key), std::string("\"") + key + "\" must be a string");
    return false;
  }
  *out = it->get<std::string>();
  return true;
}

bool GetCombinations(const JsonFile& f, const nlohmann::json& obj, const std::string& ptr,
                     const char* key, std::vector<std::vector<std::string>>* out,
                     std::vector<engine::SourceLocation>* where,
                     std::vector<engine::Diagnostic>* diags) {
  const auto c = obj.find(key);
  if (c == obj.end()) return true;
  if (!c->is_array()) {
    Error(diags, f.At(ptr + "/" + key),
          std::string("\"") + key +
              "\" is a list of combinations, each a list of concept ids: "
              "[[\"lower-limb\", \"loss-of-power\"]]");
    return false;
  }
  bool good = true;
  for (size_t k = 0; k < c->size(); ++k) {
    const std::string cptr = ptr + "/" + key + "/" + std::to_string(k);
    const nlohmann::json& combo = (*c)[k];
    bool fine = combo.is_array();
    if (fine) {
      for (const auto& id : combo) fine &= id.is_string();
    }
    if (!fine) {
      Error(diags, f.At(cptr), "a concept combination is a list of concept ids (strings)");
      good = false;
      continue;
    }
    std::vector<std::string> ids;
    for (const auto& id : combo) ids.push_back(id.get<std::string>());
    out->push_back(std::move(ids));
    if (where) where->push_back(f.At(cptr));
  }
  return good;
}

bool GetStrings(const JsonFile& f, const nlohmann::json& obj, const std::string& pointer,
                const char* key, bool required, std::vector<std::string>* out,
                std::vector<engine::SourceLocation>* where,
                std::vector<engine::Diagnostic>* diags) {
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (required) Error(diags, f.At(pointer), std::string("missing field \"") + key + "\"");
    return !required;
  }
  if (!it->is_array()) {
    Error(diags, f.At(pointer + "/" + key),
          std::string("\"") + key + "\" must be a list of strings");
    return false;
  }
  bool ok = true;
  for (size_t i = 0; i < it->size(); ++i) {
    const std::string p = pointer + "/" + key + "/" + std::to_string(i);
    if (!(*it)[i].is_string()) {
      Error(diags, f.At(p), std::string("items of \"") + key + "\" must be strings");
      ok = false;
      continue;
    }
    out->push_back((*it)[i].get<std::string>());
    if (where) where->push_back(f.At(p));
  }
  return ok;
}

void CheckKeys(const JsonFile& f, const nlohmann::json& obj, const std::string& pointer,
               std::initializer_list<const char*> known, std::vector<engine::Diagnostic>* diags) {
  if (!obj.is_object()) return;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (it.key() == "$schema" || it.key() == "$comment") continue;
    bool found = false;
    for (const char* k : known) found |= it.key() == k;
    if (!found) {
      diags->push_back(engine::Diagnostic{engine::Diagnostic::Severity::kWarning,
                                          f.At(pointer + "/" + it.key() + "#key"),
                                          "unknown field \"" + it.key() + "\" (ignored)"});
    }
  }
}

}  // namespace backline::knowledge
