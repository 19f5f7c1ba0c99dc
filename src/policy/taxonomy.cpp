// The built-in categories of violation and the checks on an operator's own (see taxonomy.h).
#include "vigil/taxonomy.h"

#include <algorithm>
#include <boost/json.hpp>
#include <set>

namespace vigil {
namespace {

bool ValidId(std::string_view id) {
  if (id.empty() || id.size() > 32) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

std::string Upper(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return out;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

Taxonomy Taxonomy::BuiltIn() {
  Taxonomy t;
  t.categories_ = {
      {"csam", "Child sexual abuse material",
       "Child sexual abuse material: the content depicts the sexual abuse or sexual exploitation of a child.",
       "The platform's terms of service; 18 U.S.C. 2258A (reporting to NCMEC)", true, {"A1", "A2", "B1", "B2"}},
      {"ncii", "Intimate images shared without consent",
       "Intimate images shared without the consent of the person shown.", "The platform's terms of service", false, {}},
      {"terrorist_content", "Terrorist content", "Content that promotes or supports terrorism or violent extremism.",
       "The platform's terms of service", false, {}},
      {"other", "Other violation of the terms of service", "The content violates the platform's terms of service.",
       "The platform's terms of service", false, {}},
  };
  return t;
}

Result<Taxonomy> Taxonomy::Make(std::vector<Category> categories, const std::string& source) {
  if (categories.empty()) return Fail(ErrorCode::kInvalidArgument, source + ": at least one category is needed");
  std::set<std::string> seen;
  for (auto& c : categories) {
    const std::string where = source + " (category '" + c.id + "'): ";
    if (!ValidId(c.id)) {
      return Fail(ErrorCode::kInvalidArgument, source + ": category id '" + c.id.substr(0, 40) +
                                                   "' must be 1-32 of [a-z0-9_-]");
    }
    if (!seen.insert(c.id).second) return Fail(ErrorCode::kInvalidArgument, where + "defined twice");
    if (c.title.empty() || c.title.size() > 200) return Fail(ErrorCode::kInvalidArgument, where + "'title' (1-200 characters) is required");
    if (c.ground.empty() || c.ground.size() > 2000) {
      return Fail(ErrorCode::kInvalidArgument, where + "'ground' (1-2000 characters: what the user is told) is required");
    }
    if (c.legal_basis.size() > 2000) return Fail(ErrorCode::kInvalidArgument, where + "'legal_basis' is over 2000 characters");
    std::set<std::string> labels;
    for (auto& label : c.classifications) {
      label = Upper(label);
      if (label.empty() || label.size() > 16) return Fail(ErrorCode::kInvalidArgument, where + "classification labels are 1-16 characters");
      if (!labels.insert(label).second) return Fail(ErrorCode::kInvalidArgument, where + "classification '" + label + "' twice");
    }
  }
  Taxonomy t;
  t.categories_ = std::move(categories);
  return t;
}

const Category* Taxonomy::Find(std::string_view id) const {
  for (const auto& c : categories_) {
    if (c.id == id) return &c;
  }
  return nullptr;
}

Result<const Category*> Taxonomy::Require(std::string_view id) const {
  if (const Category* c = Find(id)) return c;
  std::vector<std::string> ids;
  for (const auto& c : categories_) ids.push_back(c.id);
  return Fail(ErrorCode::kInvalidArgument, "unknown category '" + std::string(id.substr(0, 40)) + "' (categories: " + Join(ids) + ")");
}

Result<std::string> Taxonomy::NormalizeClassification(const Category& category, std::string_view label) const {
  std::string normal = Upper(label);
  if (normal.empty()) return normal;
  if (std::find(category.classifications.begin(), category.classifications.end(), normal) != category.classifications.end()) {
    return normal;
  }
  if (category.classifications.empty()) {
    return Fail(ErrorCode::kInvalidArgument, "category '" + category.id + "' takes no classification label (got '" +
                                                 std::string(label.substr(0, 40)) + "')");
  }
  return Fail(ErrorCode::kInvalidArgument, "classification '" + std::string(label.substr(0, 40)) + "' is not one of " +
                                               Join(category.classifications) + " (category '" + category.id + "')");
}

std::string Taxonomy::ToJson() const {
  boost::json::array out;
  for (const auto& c : categories_) {
    boost::json::array labels;
    for (const auto& l : c.classifications) labels.emplace_back(l);
    out.push_back(boost::json::object{{"id", c.id},
                                      {"title", c.title},
                                      {"ground", c.ground},
                                      {"legal_basis", c.legal_basis},
                                      {"cybertip", c.cybertip},
                                      {"classifications", std::move(labels)}});
  }
  return boost::json::serialize(out);
}

}  // namespace vigil
