#include "domain/json_text.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <nlohmann/json.hpp>

#include "domain/text_rules.h"

namespace annals {
namespace {

// RFC 8259's escaping, one byte at a time: what the word-at-a-time scan must match exactly.
std::string reference_escape(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 15]);
        } else {
          out.push_back(ch);
        }
    }
  }
  return out + "\"";
}

std::string escaped(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

TEST(JsonText, EscapesQuotesBackslashesAndControlCharacters) {
  EXPECT_EQ(escaped(""), "\"\"");
  EXPECT_EQ(escaped("plain ascii text, longer than eight"),
            "\"plain ascii text, longer than eight\"");
  EXPECT_EQ(escaped("a\"b\\c\nd\re\tf\bg\fh"), R"("a\"b\\c\nd\re\tf\bg\fh")");
  EXPECT_EQ(escaped(std::string("\x01\x1f\x7f", 3)), "\"\\u0001\\u001f\x7f\"");
  EXPECT_EQ(escaped(std::string("12345678\0", 9)), "\"12345678\\u0000\"");
  EXPECT_EQ(escaped("héllo wörld ✓"), "\"héllo wörld ✓\"");  // UTF-8 kept as is
}

// Bytes that matter to the scan: every byte that needs escaping, its neighbours, and UTF-8.
rc::Gen<std::string> interesting_strings() {
  return rc::gen::container<std::string>(
      rc::gen::oneOf(rc::gen::elementOf(std::string("\"\\\n\r\t\b\f\x01\x1f !#[]]^_`~\x7f")),
                     rc::gen::inRange<char>('a', 'z'), rc::gen::arbitrary<char>()));
}

RC_GTEST_PROP(JsonText, MatchesTheBytewiseEscape, ()) {
  const std::string s = *interesting_strings();
  RC_ASSERT(escaped(s) == reference_escape(s));
}

RC_GTEST_PROP(JsonText, ValidUtf8RoundTripsThroughAParser, ()) {
  // Valid UTF-8 pieces: ASCII including every byte that needs escaping, 2-, 3- and 4-byte forms.
  const auto pieces = *rc::gen::container<std::vector<std::string>>(
      rc::gen::oneOf(rc::gen::map(rc::gen::inRange<int>(0, 0x80),
                                  [](int c) { return std::string(1, static_cast<char>(c)); }),
                     rc::gen::elementOf(std::vector<std::string>{"é", "✓", "😀", "\"", "\\"})));
  std::string s;
  for (const auto& p : pieces) s += p;
  const auto back = nlohmann::json::parse(escaped(s), nullptr, false);
  RC_ASSERT(!back.is_discarded());
  RC_ASSERT(back.get<std::string>() == s);
}

TEST(ValidUtf8, KeepsWellFormedTextAndReplacesEachBadByte) {
  const std::string r = "\xEF\xBF\xBD";  // U+FFFD
  EXPECT_EQ(valid_utf8("plain ascii"), "plain ascii");
  EXPECT_EQ(valid_utf8("é ✓ 😀 \xF4\x8F\xBF\xBF"), "é ✓ 😀 \xF4\x8F\xBF\xBF");
  EXPECT_EQ(valid_utf8("last read: '\"\xFF'"), "last read: '\"" + r + "'");
  EXPECT_EQ(valid_utf8("\xC0\xAF"), r + r);                  // overlong '/'
  EXPECT_EQ(valid_utf8("\xE0\x80\xAF"), r + r + r);          // overlong, three bytes
  EXPECT_EQ(valid_utf8("\xED\xA0\x80"), r + r + r);          // a UTF-16 surrogate
  EXPECT_EQ(valid_utf8("\xF4\x90\x80\x80"), r + r + r + r);  // above U+10FFFF
  EXPECT_EQ(valid_utf8("a\xE2\x9C"), "a" + r + r);           // cut short
  EXPECT_EQ(valid_utf8("\x80x"), r + "x");                   // a lone continuation byte
}

RC_GTEST_PROP(ValidUtf8, AnyBytesBecomeTextAParserAccepts, ()) {
  // Any bytes, high ones as likely as ASCII.
  const auto s = *rc::gen::container<std::string>(
      rc::gen::map(rc::gen::inRange<int>(0, 256), [](int c) { return static_cast<char>(c); }));
  const std::string v = valid_utf8(s);
  const auto back = nlohmann::json::parse(escaped(v), nullptr, false);
  RC_ASSERT(!back.is_discarded());
  RC_ASSERT(back.get<std::string>() == v);
  RC_ASSERT(valid_utf8(v) == v);
}

TEST(JsonText, WriterWritesQuotedKeysAndHex) {
  std::string out;
  JsonWriter w(out);
  w.begin_object().quoted_key("\"a\":").value(1).quoted_key("\"h\":").hex(
      std::string("\x00\xff\x10", 3));
  w.end_object();
  EXPECT_EQ(out, R"({"a":1,"h":"00ff10"})");
}

}  // namespace
}  // namespace annals
