// ChunkRows: a rebuild's staged rows of one read model — the latest value or delete per key, read
// back through the index, handed out in RocksDB's bytewise key order.
#include "projections/chunk_rows.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace annals {
namespace {

struct Staged {
  std::string key;
  std::optional<std::string> value;  // nullopt: a delete
};

// Keys from a small alphabet that includes the zero byte, built on a few shared stems of 0 to 20
// bytes, so that many keys agree on their first 8 or 16 bytes and some are prefixes of others.
rc::Gen<std::string> gen_key() {
  return rc::gen::apply(
      [](int stem, std::string tail) {
        static const std::vector<std::string> stems = {"",
                                                       "r",
                                                       "kskill-1",
                                                       std::string("kskill-1\0", 9),
                                                       "it-gate_failure\0",
                                                       "abcdefgh",
                                                       "abcdefghijklmnopqrst"};
        return stems[static_cast<std::size_t>(stem)] + tail;
      },
      rc::gen::inRange(0, 7),
      rc::gen::container<std::string>(rc::gen::element('\0', 'a', 'b', '\xff', '\x7f')));
}

RC_GTEST_PROP(ChunkRows, HandsOutTheLatestValueOfEachKeyInBytewiseOrder, ()) {
  const auto staged = *rc::gen::container<std::vector<Staged>>(rc::gen::apply(
      [](std::string k, rc::Maybe<std::string> v) {
        return Staged{std::move(k), v ? std::optional(*v) : std::nullopt};
      },
      gen_key(), rc::gen::maybe(rc::gen::string<std::string>())));
  projections::ChunkRows rows(nullptr, nullptr);
  std::map<std::string, std::optional<std::string>> expected;  // std::string orders bytewise
  for (const auto& s : staged) {
    if (s.value) {
      rows.put(s.key, *s.value);
    } else {
      rows.remove(s.key);
    }
    expected[s.key] = s.value;
  }
  RC_ASSERT(rows.size() == expected.size());
  // Reads of staged keys come from the chunk (the database is never asked: there is none).
  for (const auto& [key, value] : expected) RC_ASSERT(rows.get(key) == value);
  std::vector<std::pair<std::string, std::optional<std::string>>> seen;
  rows.for_each_sorted([&](std::string_view key, const std::string_view* value) {
    seen.emplace_back(std::string(key), value ? std::optional(std::string(*value)) : std::nullopt);
  });
  const std::vector<std::pair<std::string, std::optional<std::string>>> want(expected.begin(),
                                                                             expected.end());
  RC_ASSERT(seen == want);
  rows.clear();
  RC_ASSERT(rows.empty());
}

TEST(ChunkRows, OrdersAKeyBeforeTheKeysItIsAPrefixOfAcrossTheEightByteDigits) {
  projections::ChunkRows rows(nullptr, nullptr);
  const std::vector<std::string> keys = {std::string("abcdefgh\0", 9),
                                         "abcdefgh",
                                         "abcdefgh\x01",
                                         "abcdefg",
                                         std::string("abcdefg\0", 8),
                                         "abcdefghabcdefgh",
                                         "abcdefghabcdefg",
                                         "b",
                                         ""};
  for (const auto& k : keys) rows.put(k, "v" + k);
  std::vector<std::string> seen;
  rows.for_each_sorted([&](std::string_view key, const std::string_view* value) {
    ASSERT_NE(value, nullptr);
    EXPECT_EQ(*value, "v" + std::string(key));
    seen.emplace_back(key);
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"", "abcdefg", std::string("abcdefg\0", 8), "abcdefgh",
                                            std::string("abcdefgh\0", 9), "abcdefgh\x01",
                                            "abcdefghabcdefg", "abcdefghabcdefgh", "b"}));
}

}  // namespace
}  // namespace annals
