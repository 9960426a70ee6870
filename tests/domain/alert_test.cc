// The alert-condition DSL (SPEC §3.10): SPEC §10.16 as a table, AU-10's validation errors, and
// properties.
#include "domain/alert.h"

#include <gtest/gtest.h>
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

namespace annals::alert {
namespace {

using nlohmann::json;

struct EvalCase {
  const char* id;
  const char* expr;
  const char* output;
  bool fires;
};

class Evaluate : public ::testing::TestWithParam<EvalCase> {};

TEST_P(Evaluate, FollowsTheSpec) {
  const auto& c = GetParam();
  const json expr = json::parse(c.expr);
  ASSERT_TRUE(validate(expr, "alert_conditions").empty()) << c.expr;
  EXPECT_EQ(evaluate(expr, json::parse(c.output)), c.fires)
      << c.id << ": " << c.expr << " on " << c.output;
}

INSTANTIATE_TEST_SUITE_P(
    Alert, Evaluate,
    ::testing::Values(
        EvalCase{"AD-01a", R"({"field":"price","op":"==","value":100})", R"({"price":100})", true},
        EvalCase{"AD-01b", R"({"field":"price","op":"==","value":100})", R"({"price":100.0})",
                 true},
        EvalCase{"AD-01c", R"({"field":"price","op":"==","value":100})", R"({"price":99})", false},
        EvalCase{"AD-01d", R"({"field":"price","op":"<=","value":100})", R"({"price":99})", true},
        EvalCase{"AD-01e", R"({"field":"price","op":"<=","value":100})", R"({"price":100})", true},
        EvalCase{"AD-01f", R"({"field":"price","op":"<=","value":100})", R"({"price":101})", false},
        EvalCase{"AD-02a", R"({"field":"t","op":"contains","value":"shirt"})",
                 R"({"t":"red cotton shirt"})", true},
        EvalCase{"AD-02b", R"({"field":"t","op":"contains","value":"shirt"})",
                 R"({"t":"red cotton pants"})", false},
        EvalCase{"AD-02c", R"({"field":"t","op":"contains","value":"sale"})",
                 R"({"t":["sale","new"]})", true},
        EvalCase{"AD-02d", R"({"field":"t","op":"contains","value":"sale"})", R"({"t":{"sale":1}})",
                 true},
        EvalCase{"AD-02e", R"({"field":"t","op":"contains","value":"sale"})", R"({"t":42})", false},
        EvalCase{"AD-03a", R"({"field":"price","op":"exists"})", R"({"price":100})", true},
        EvalCase{"AD-03b", R"({"field":"price","op":"exists"})", R"({"price":null})", true},
        EvalCase{"AD-03c", R"({"field":"price","op":"exists"})", R"({"name":"shirt"})", false},
        EvalCase{"AD-04a", R"({"field":"product.price","op":"<","value":50})",
                 R"({"product":{"price":42}})", true},
        EvalCase{"AD-04b", R"({"field":"product.price","op":"<","value":50})",
                 R"({"product":{"price":60}})", false},
        EvalCase{"AD-04c", R"({"field":"product.price","op":"<","value":50})",
                 R"({"product":[{"price":1}]})", false},
        EvalCase{"AD-04d", R"({"field":"missing.p","op":"<=","value":50})", R"({"product":{}})",
                 false},
        EvalCase{"AD-04e", R"({"field":"missing.p","op":"!=","value":50})", R"({"product":{}})",
                 false},
        EvalCase{
            "AD-05a",
            R"({"all_of":[{"field":"price","op":"<=","value":100},{"field":"in_stock","op":"==","value":true}]})",
            R"({"price":50,"in_stock":true})", true},
        EvalCase{
            "AD-05b",
            R"({"all_of":[{"field":"price","op":"<=","value":100},{"field":"in_stock","op":"==","value":true}]})",
            R"({"price":50,"in_stock":false})", false},
        EvalCase{
            "AD-05c",
            R"({"any_of":[{"field":"price","op":"<=","value":100},{"field":"tag","op":"==","value":"sale"}]})",
            R"({"price":200,"tag":"sale"})", true},
        EvalCase{
            "AD-05d",
            R"({"any_of":[{"field":"price","op":"<=","value":100},{"field":"tag","op":"==","value":"sale"}]})",
            R"({"price":200,"tag":"regular"})", false},
        EvalCase{"AD-06a", R"({})", R"({"price":1})", false},
        EvalCase{"AD-06b", R"({"all_of":[]})", R"({"price":1})", false},
        EvalCase{"AD-06c", R"({"any_of":[]})", R"({"price":1})", false},
        EvalCase{
            "AD-07a",
            R"({"all_of":[{"any_of":[{"field":"price","op":"<=","value":100},{"field":"is_sale","op":"==","value":true}]},{"field":"in_stock","op":"==","value":true}]})",
            R"({"price":80,"is_sale":false,"in_stock":true})", true},
        EvalCase{
            "AD-07b",
            R"({"all_of":[{"any_of":[{"field":"price","op":"<=","value":100},{"field":"is_sale","op":"==","value":true}]},{"field":"in_stock","op":"==","value":true}]})",
            R"({"price":200,"is_sale":true,"in_stock":true})", true},
        EvalCase{
            "AD-07c",
            R"({"all_of":[{"any_of":[{"field":"price","op":"<=","value":100},{"field":"is_sale","op":"==","value":true}]},{"field":"in_stock","op":"==","value":true}]})",
            R"({"price":80,"is_sale":false,"in_stock":false})", false},
        EvalCase{"AD-08a", R"({"field":"flag","op":"==","value":1})", R"({"flag":true})", false},
        EvalCase{"AD-08b", R"({"field":"flag","op":"==","value":true})", R"({"flag":1})", false},
        EvalCase{"AD-08c", R"({"field":"n","op":"<","value":20})", R"({"n":"10"})", false},
        EvalCase{"AD-08d", R"({"field":"n","op":"<","value":"abd"})", R"({"n":"abc"})", true},
        EvalCase{"AD-08e", R"({"field":"n","op":"<","value":1})", R"({"n":null})", false},
        EvalCase{"AD-08f", R"({"field":"n","op":">","value":0})", R"({"n":true})", false},
        EvalCase{"null equals null", R"({"field":"n","op":"==","value":null})", R"({"n":null})",
                 true},
        EvalCase{"objects by key set", R"({"field":"o","op":"==","value":{"a":1,"b":[1,2.0]}})",
                 R"({"o":{"b":[1,2],"a":1.0}})", true}),
    [](const auto& info) {
      std::string n = info.param.id;
      for (auto& ch : n) {
        if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
      }
      return n;
    });

struct InvalidCase {
  const char* expr;
  const char* field;
};
class Invalid : public ::testing::TestWithParam<InvalidCase> {};
TEST_P(Invalid, NamesTheOffendingNode) {
  const auto errors = validate(json::parse(GetParam().expr), "alert_conditions");
  ASSERT_FALSE(errors.empty()) << GetParam().expr;
  EXPECT_EQ(errors.front().field, GetParam().field) << GetParam().expr;
}
INSTANTIATE_TEST_SUITE_P(
    Alert, Invalid,  // AU-10 and the rules of §3.10
    ::testing::Values(InvalidCase{R"({"any_of":"x"})", "alert_conditions.any_of"},
                      InvalidCase{R"({"all_of":[{"field":"p","op":"lol","value":1}]})",
                                  "alert_conditions.all_of[0].op"},
                      InvalidCase{R"({"all_of":[{}]})", "alert_conditions.all_of[0]"},
                      InvalidCase{R"({"only_of":[]})", "alert_conditions"},
                      InvalidCase{R"({"all_of":[],"any_of":[]})", "alert_conditions"},
                      InvalidCase{R"({"field":"p","op":"=="})", "alert_conditions.value"},
                      InvalidCase{R"([])", "alert_conditions"},
                      InvalidCase{R"({"field":"a..b","op":"exists"})", "alert_conditions.field"},
                      InvalidCase{R"({"field":"p"})", "alert_conditions.op"},
                      InvalidCase{R"({"any_of":[1]})", "alert_conditions.any_of[0]"},
                      InvalidCase{R"({"all_of":[{"any_of":[{"op":"exists"}]}]})",
                                  "alert_conditions.all_of[0].any_of[0].field"}));

TEST(Alert, AcceptsTheEmptyExpressionAndExistsWithoutValue) {
  EXPECT_TRUE(validate(json::object(), "a").empty());
  EXPECT_TRUE(validate(json::parse(R"({"field":"p","op":"exists"})"), "a").empty());
  EXPECT_TRUE(validate(json::parse(R"({"field":"p","op":"==","value":null,"note":"ignored"})"), "a")
                  .empty());
}

// ---- properties ----

// Random leaves over a small universe of paths, ops and values, and random outputs.
json leaf(unsigned path, unsigned op, unsigned value) {
  static const char* paths[] = {"a", "b", "a.x", "c.y.z"};
  static const char* ops[] = {"==", "!=", "<", "<=", ">", ">=", "contains", "exists"};
  static const json values[] = {
      1, 2.5, "s", true, nullptr, json::array({1, "s"}), json::object({{"x", 1}})};
  json l = {{"field", paths[path % 4]}, {"op", ops[op % 8]}};
  if (op % 8 != 7) l["value"] = values[value % 7];
  return l;
}

json output_of(unsigned seed) {
  static const json shapes[] = {json::object(), json::parse(R"({"a":1,"b":"s"})"),
                                json::parse(R"({"a":{"x":2.5},"c":{"y":{"z":[1,"s"]}}})"),
                                json::parse(R"({"a":[1],"b":null,"c":{"y":5}})"),
                                json::parse(R"({"a":true,"b":{"x":1}})")};
  return shapes[seed % 5];
}

RC_GTEST_PROP(AlertProperties, CombinatorLaws,
              (unsigned p1, unsigned o1, unsigned v1, unsigned p2, unsigned o2, unsigned v2,
               unsigned out)) {
  const json a = leaf(p1, o1, v1), b = leaf(p2, o2, v2);
  const json output = output_of(out);
  const bool ea = evaluate(a, output), eb = evaluate(b, output);
  RC_ASSERT(evaluate(json{{"all_of", {a}}}, output) == ea);
  RC_ASSERT(evaluate(json{{"any_of", {a}}}, output) == ea);
  RC_ASSERT(evaluate(json{{"all_of", {a, b}}}, output) == (ea && eb));
  RC_ASSERT(evaluate(json{{"any_of", {a, b}}}, output) == (ea || eb));
  RC_ASSERT(evaluate(json{{"all_of", {a, b}}}, output) ==
            evaluate(json{{"all_of", {b, a}}}, output));
}

RC_GTEST_PROP(AlertProperties, MissingPathsMakeEveryOperatorFalseButExistsTellsPresence,
              (unsigned p, unsigned o, unsigned v, unsigned out)) {
  const json l = leaf(p, o, v);
  const json output = output_of(out);
  json exists = l;
  exists["op"] = "exists";
  const bool present = evaluate(exists, output);
  if (!present) RC_ASSERT(!evaluate(l, output));
  if (l["op"] == "==" || l["op"] == "!=") {
    json other = l;
    other["op"] = l["op"] == "==" ? "!=" : "==";
    // With the path present, == and != are complementary.
    if (present) RC_ASSERT(evaluate(l, output) != evaluate(other, output));
  }
}

RC_GTEST_PROP(AlertProperties, ValidExpressionsAlwaysEvaluate,
              (const std::vector<unsigned>& shape)) {
  // Builds a random tree, sometimes with broken nodes; whatever validates must evaluate.
  json tree = json::object();
  json* cur = &tree;
  for (std::size_t i = 0; i < shape.size() && i < 12; ++i) {
    const unsigned k = shape[i];
    switch (k % 6) {
      case 0:
        (*cur)["all_of"] = json::array({leaf(k, k / 7, k / 11)});
        cur = &(*cur)["all_of"][0];
        break;
      case 1:
        (*cur)["any_of"] = json::array({json::object()});
        cur = &(*cur)["any_of"][0];
        break;
      case 2:
        *cur = leaf(k, k / 3, k / 5);
        break;
      case 3:
        (*cur)["field"] = k % 2 ? "" : "x";
        break;
      case 4:
        (*cur)["op"] = k % 2 ? "~" : "exists";
        break;
      default:
        (*cur)["value"] = k;
        break;
    }
  }
  if (validate(tree, "e").empty()) {
    // Evaluation of a validated tree completes without throwing, on every output shape.
    for (unsigned out = 0; out < 5; ++out) {
      try {
        evaluate(tree, output_of(out));
      } catch (...) {
        RC_FAIL("a validated expression threw during evaluation");
      }
    }
  }
}

}  // namespace
}  // namespace annals::alert
