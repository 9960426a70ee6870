#include "domain/alert.h"

#include <array>
#include <string_view>

namespace annals::alert {

namespace {

using nlohmann::json;

constexpr std::array<std::string_view, 8> kOps = {
    "==", "!=", "<", "<=", ">", ">=", "contains", "exists"};

bool valid_path(const std::string& field) {
  if (field.empty()) return false;
  std::size_t start = 0;
  while (true) {
    const auto dot = field.find('.', start);
    if ((dot == std::string::npos ? field.size() : dot) == start) return false;  // empty segment
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

void validate_node(const json& node, const std::string& path, bool top,
                   std::vector<FieldError>& errors) {
  if (!node.is_object()) {
    errors.push_back({path, "must be an object"});
    return;
  }
  if (node.empty()) {
    if (!top) errors.push_back({path, "unknown node shape"});
    return;
  }
  const bool all = node.contains("all_of"), any = node.contains("any_of");
  const bool leaf = node.contains("field") || node.contains("op");
  if ((all && any) || (all && leaf) || (any && leaf)) {
    errors.push_back({path, "ambiguous node"});
    return;
  }
  if (all || any) {
    const char* key = all ? "all_of" : "any_of";
    const json& children = node.at(key);
    const std::string child_path = path + "." + key;
    if (!children.is_array()) {
      errors.push_back({child_path, "must be an array"});
      return;
    }
    for (std::size_t i = 0; i < children.size(); ++i) {
      validate_node(children[i], child_path + "[" + std::to_string(i) + "]", false, errors);
    }
    return;
  }
  if (!leaf) {
    errors.push_back({path, "unknown node shape"});
    return;
  }
  if (!node.contains("field")) {
    errors.push_back({path + ".field", "is required"});
  } else if (!node.at("field").is_string() || !valid_path(node.at("field").get<std::string>())) {
    errors.push_back({path + ".field", "must be a dotted path of non-empty segments"});
  }
  std::string op;
  if (!node.contains("op")) {
    errors.push_back({path + ".op", "is required"});
  } else if (!node.at("op").is_string() ||
             std::find(kOps.begin(), kOps.end(), node.at("op").get<std::string>()) == kOps.end()) {
    errors.push_back({path + ".op", "must be one of ==, !=, <, <=, >, >=, contains, exists"});
  } else {
    op = node.at("op").get<std::string>();
  }
  if (!op.empty() && op != "exists" && !node.contains("value")) {
    errors.push_back({path + ".value", "is required for op " + op});
  }
}

// The value at a dotted path, descending through objects only; nullptr when not present.
const json* resolve(const json& output, const std::string& field) {
  const json* cur = &output;
  std::size_t start = 0;
  while (true) {
    if (!cur->is_object()) return nullptr;
    const auto dot = field.find('.', start);
    const std::string key =
        field.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    auto it = cur->find(key);
    if (it == cur->end()) return nullptr;
    cur = &*it;
    if (dot == std::string::npos) return cur;
    start = dot + 1;
  }
}

bool numbers_equal(const json& a, const json& b) {
  if (a.is_number_float() || b.is_number_float()) return a.get<double>() == b.get<double>();
  if (a.is_number_unsigned() && b.is_number_unsigned())
    return a.get<std::uint64_t>() == b.get<std::uint64_t>();
  if (a.is_number_unsigned() && a.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
    return false;
  if (b.is_number_unsigned() && b.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
    return false;
  return a.get<std::int64_t>() == b.get<std::int64_t>();
}

int compare_numbers(const json& a, const json& b) {
  if (numbers_equal(a, b)) return 0;
  return a.get<double>() < b.get<double>() ? -1 : 1;
}

bool evaluate_leaf(const json& node, const json& output) {
  const json* actual = resolve(output, node.at("field").get<std::string>());
  if (actual == nullptr) return false;
  const std::string op = node.at("op").get<std::string>();
  if (op == "exists") return true;
  const json& value = node.at("value");
  if (op == "==") return equal(*actual, value);
  if (op == "!=") return !equal(*actual, value);
  if (op == "contains") {
    if (actual->is_string() && value.is_string()) {
      return actual->get_ref<const std::string&>().find(value.get_ref<const std::string&>()) !=
             std::string::npos;
    }
    if (actual->is_array()) {
      for (const auto& item : *actual) {
        if (equal(item, value)) return true;
      }
      return false;
    }
    if (actual->is_object() && value.is_string()) return actual->contains(value.get<std::string>());
    return false;
  }
  int cmp = 0;
  if (actual->is_number() && value.is_number()) {
    cmp = compare_numbers(*actual, value);
  } else if (actual->is_string() && value.is_string()) {
    // UTF-8 byte order is Unicode code point order.
    cmp = actual->get_ref<const std::string&>().compare(value.get_ref<const std::string&>());
    cmp = cmp < 0 ? -1 : cmp > 0 ? 1 : 0;
  } else {
    return false;
  }
  if (op == "<") return cmp < 0;
  if (op == "<=") return cmp <= 0;
  if (op == ">") return cmp > 0;
  return cmp >= 0;  // ">="
}

}  // namespace

std::vector<FieldError> validate(const nlohmann::json& expr, const std::string& prefix) {
  std::vector<FieldError> errors;
  validate_node(expr, prefix, true, errors);
  return errors;
}

bool equal(const nlohmann::json& a, const nlohmann::json& b) {
  if (a.is_number() && b.is_number()) return numbers_equal(a, b);
  if (a.is_boolean() || b.is_boolean())
    return a.is_boolean() && b.is_boolean() && a.get<bool>() == b.get<bool>();
  if (a.is_null() || b.is_null()) return a.is_null() && b.is_null();
  if (a.is_string() && b.is_string())
    return a.get_ref<const std::string&>() == b.get_ref<const std::string&>();
  if (a.is_array() && b.is_array()) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (!equal(a[i], b[i])) return false;
    }
    return true;
  }
  if (a.is_object() && b.is_object()) {
    if (a.size() != b.size()) return false;
    for (const auto& [k, v] : a.items()) {
      auto it = b.find(k);
      if (it == b.end() || !equal(v, *it)) return false;
    }
    return true;
  }
  return false;
}

bool evaluate(const nlohmann::json& expr, const nlohmann::json& output) {
  if (!expr.is_object() || expr.empty()) return false;
  if (expr.contains("all_of")) {
    const auto& children = expr.at("all_of");
    if (children.empty()) return false;
    for (const auto& c : children) {
      if (!evaluate(c, output)) return false;
    }
    return true;
  }
  if (expr.contains("any_of")) {
    for (const auto& c : expr.at("any_of")) {
      if (evaluate(c, output)) return true;
    }
    return false;
  }
  return evaluate_leaf(expr, output);
}

}  // namespace annals::alert
