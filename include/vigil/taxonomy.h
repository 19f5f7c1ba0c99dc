// The policy taxonomy: the categories of violation an operator acts on (CSAM, intimate images
// shared without consent, terrorist content, ...), each with the words a user is told (the ground
// of a statement of reasons), its legal basis, whether it is reported to NCMEC's CyberTipline, and
// the per-file classification labels a reviewer may give (NCMEC's A1..B2 for CSAM).
//
// Banks, policy rules and review decisions name a category; statements of reasons, CyberTipline
// reports and transparency figures take their words and counts from it. Only a decision in a
// category with `cybertip = true` drafts a CyberTipline report.
//
// Operators define categories in the rules file (`[[category]]`, docs/workflow.md); without any,
// the built-in ones below apply. A rules file's categories replace the built-in ones whole.
//
// Thread safety: immutable after construction; safe to share.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "vigil/status.h"

namespace vigil {

struct Category {
  std::string id;           // "csam", "ncii", ...: [a-z0-9_-], 1-32
  std::string title;        // short name for people ("Child sexual abuse material")
  std::string ground;       // what a user is told the content or account broke (statement of reasons)
  std::string legal_basis;  // the law or terms relied on, as shown to the user
  bool cybertip = false;    // decisions in this category are reported to NCMEC's CyberTipline
  // Labels a reviewer gives each file (upper case); empty: none. Entered labels are normalised
  // (trimmed, upper-cased) and must be one of these.
  std::vector<std::string> classifications;
};

class Taxonomy {
 public:
  // csam (reported, A1 A2 B1 B2), ncii, terrorist_content, other.
  static Taxonomy BuiltIn();
  // Checks ids, required words and duplicates; `source` names the file in errors.
  static Result<Taxonomy> Make(std::vector<Category> categories, const std::string& source);

  // nullptr when unknown.
  const Category* Find(std::string_view id) const;
  // Find, or kInvalidArgument naming the known ids.
  Result<const Category*> Require(std::string_view id) const;
  // A reviewer's label for a file in `category`, normalised ("b1 " -> "B1"); kInvalidArgument
  // naming the allowed labels when it is not one; "" stays "" (no label).
  Result<std::string> NormalizeClassification(const Category& category, std::string_view label) const;
  const std::vector<Category>& categories() const { return categories_; }
  // The categories as JSON (for GET /v1/rules).
  std::string ToJson() const;

 private:
  std::vector<Category> categories_;
};

}  // namespace vigil
