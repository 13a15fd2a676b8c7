#include "knowledge/classifier.h"

#include <fasttext/fasttext.h>

#include <cstdint>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <utility>

#include "knowledge/json_file.h"

namespace backline::knowledge {

namespace fs = std::filesystem;
using engine::Diagnostic;

namespace {

constexpr std::uintmax_t kMaxModelBytes = 64u << 20;

class FastTextClassifier final : public engine::RedFlagClassifier {
 public:
  FastTextClassifier(std::unique_ptr<fasttext::FastText> model, std::string version)
      : model_(std::move(model)), version_(std::move(version)) {}

  engine::ClassifierScores Score(std::string_view text) const override {
    engine::ClassifierScores s;
    // fastText reads a line as the trainer did: the end of line is a token too.
    std::istringstream in(ClassifierText(text) + "\n");
    std::vector<std::pair<fasttext::real, std::string>> labels;
    try {
      model_->predictLine(in, labels, -1, 0.0);
    } catch (const std::exception&) {
      return s;  // no opinion: the rules still stand
    }
    constexpr std::string_view kPrefix = "__label__";
    for (const auto& [p, full] : labels) {
      std::string_view label = full;
      if (label.substr(0, kPrefix.size()) == kPrefix) label.remove_prefix(kPrefix.size());
      const double prob = static_cast<double>(p);
      if (label == "emergency") {
        s.emergency = prob;
      } else if (label == "urgent") {
        s.urgent = prob;
      } else if (label.size() == 2 && label[0] == 'E') {
        if (prob > s.emergency_kind_probability) {
          s.emergency_kind = std::string(label);
          s.emergency_kind_probability = prob;
        }
      } else if (label.size() == 2 && label[0] == 'U') {
        if (prob > s.urgent_kind_probability) {
          s.urgent_kind = std::string(label);
          s.urgent_kind_probability = prob;
        }
      }
    }
    return s;
  }

  const std::string& version() const override { return version_; }

 private:
  std::unique_ptr<fasttext::FastText> model_;
  std::string version_;
};

// FNV-1a over the model's bytes: a version that changes with the model.
std::string Fingerprint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::uint64_t h = 1469598103934665603ull;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    for (std::streamsize i = 0; i < in.gcount(); ++i) {
      h ^= static_cast<unsigned char>(buf[i]);
      h *= 1099511628211ull;
    }
  }
  std::ostringstream out;
  out << std::hex << std::setw(16) << std::setfill('0') << h;
  return out.str().substr(0, 12);
}

}  // namespace

std::string ClassifierText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  bool space = false;
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\'') continue;
    // U+2019 (right single quotation mark), the apostrophe phones type.
    if (c == 0xE2 && i + 2 < text.size() && static_cast<unsigned char>(text[i + 1]) == 0x80 &&
        static_cast<unsigned char>(text[i + 2]) == 0x99) {
      i += 2;
      continue;
    }
    if (c >= 'A' && c <= 'Z') c = static_cast<unsigned char>(c - 'A' + 'a');
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      if (space && !out.empty()) out.push_back(' ');
      space = false;
      out.push_back(static_cast<char>(c));
    } else {
      space = true;
    }
  }
  return out;
}

std::shared_ptr<const engine::RedFlagClassifier> LoadFastTextClassifier(
    const std::string& path, const engine::SourceLocation& where, std::vector<Diagnostic>* diags) {
  std::error_code ec;
  const std::uintmax_t size = fs::file_size(path, ec);
  if (ec) {
    Error(diags, where, "classifier model '" + path + "' not found");
    return nullptr;
  }
  if (size > kMaxModelBytes) {
    Error(diags, where,
          "classifier model '" + path + "' is " + std::to_string(size) +
              " bytes; the limit is 64 MiB (quantise it: tools/train-classifier)");
    return nullptr;
  }
  auto model = std::make_unique<fasttext::FastText>();
  try {
    model->loadModel(path);
  } catch (const std::exception& e) {
    Error(diags, where, "classifier model '" + path + "' is not a fastText model: " + e.what());
    return nullptr;
  }
  return std::make_shared<FastTextClassifier>(
      std::move(model), "fasttext " + fs::path(path).filename().string() + " " + Fingerprint(path));
}

bool LoadClassifier(const std::string& dir, engine::ClassifierSpec* spec,
                    std::vector<Diagnostic>* diags) {
  const fs::path path = fs::path(dir) / "classifier.json";
  std::error_code ec;
  if (!fs::exists(path, ec)) return true;  // no classifier: rules alone
  const std::string display = (fs::path(dir) / "classifier.json").lexically_normal().string();
  JsonFile f;
  if (!JsonFile::Load(path.string(), display, &f, diags)) return false;
  const nlohmann::json& root = f.root();
  if (!root.is_object()) {
    Error(diags, f.At(""), "classifier.json is an object");
    return false;
  }
  CheckKeys(
      f, root, "",
      {"$schema", "model", "screen_threshold", "escalate_threshold", "first_look", "training"},
      diags);
  spec->where = f.At("");
  std::string model;
  bool ok = GetString(f, root, "", "model", true, &model, diags);
  ok &= GetString(f, root, "", "first_look", false, &spec->first_look, diags);
  auto threshold = [&](const char* key, double* out) {
    auto it = root.find(key);
    if (it == root.end()) return;
    if (!it->is_number() || it->get<double>() <= 0 || it->get<double>() > 1) {
      Error(diags, f.At(std::string("/") + key),
            std::string("\"") + key + "\" must be a number above 0 and at most 1");
      ok = false;
      return;
    }
    *out = it->get<double>();
  };
  threshold("screen_threshold", &spec->screen_threshold);
  threshold("escalate_threshold", &spec->escalate_threshold);
  if (ok && spec->screen_threshold > spec->escalate_threshold) {
    Error(diags, f.At("/screen_threshold"),
          "\"screen_threshold\" must not exceed \"escalate_threshold\"");
    ok = false;
  }
  if (!ok || model.empty()) return false;
  if (model.find("..") != std::string::npos || fs::path(model).is_absolute()) {
    Error(diags, f.At("/model"), "\"model\" is a file name inside the knowledge folder");
    return false;
  }
  spec->model = LoadFastTextClassifier((fs::path(dir) / model).string(), f.At("/model"), diags);
  return spec->model != nullptr;
}

}  // namespace backline::knowledge
