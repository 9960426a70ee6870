// ChunkRows: a rebuild's staged rows of one read model — the latest value or delete per key, read
// back through the index, handed out in RocksDB's bytewise key order.
#include "projections/chunk_rows.h"

#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace annals {
namespace {

struct Staged {
  std::string key;
  std::optional<std::string> value;  // nullopt: a delete
  bool unread = false;               // staged with put_unread()
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

std::vector<std::pair<std::string, std::optional<std::string>>> sorted_rows(
    const projections::ChunkRows& rows) {
  std::vector<std::pair<std::string, std::optional<std::string>>> seen;
  rows.for_each_sorted([&](std::string_view key, const std::string_view* value) {
    seen.emplace_back(std::string(key), value ? std::optional(std::string(*value)) : std::nullopt);
  });
  return seen;
}

// Puts, deletes and write-only puts (put_unread, some of them repeated) in any mix: each key is
// handed out once, in bytewise order, with its latest staging; keys never put_unread() read back
// from the chunk.
RC_GTEST_PROP(ChunkRows, HandsOutTheLatestValueOfEachKeyInBytewiseOrder, ()) {
  const auto staged = *rc::gen::container<std::vector<Staged>>(rc::gen::apply(
      [](std::string k, rc::Maybe<std::string> v, bool unread) {
        return Staged{std::move(k), v ? std::optional(*v) : std::nullopt, unread && v};
      },
      gen_key(), rc::gen::maybe(rc::gen::string<std::string>()), rc::gen::arbitrary<bool>()));
  projections::ChunkRows rows(nullptr, nullptr);
  std::map<std::string, std::optional<std::string>> expected;  // std::string orders bytewise
  std::set<std::string> unread;
  for (const auto& s : staged) {
    if (s.unread) {
      rows.put_unread(s.key, *s.value);
      unread.insert(s.key);
    } else if (s.value) {
      rows.put(s.key, *s.value);
    } else {
      rows.remove(s.key);
    }
    expected[s.key] = s.value;
  }
  if (unread.empty()) RC_ASSERT(rows.size() == expected.size());
  // Reads of staged keys come from the chunk (the database is never asked: there is none).
  for (const auto& [key, value] : expected) {
    if (!unread.contains(key)) RC_ASSERT(rows.get(key) == value);
  }
  const std::vector<std::pair<std::string, std::optional<std::string>>> want(expected.begin(),
                                                                             expected.end());
  RC_ASSERT(sorted_rows(rows) == want);
  rows.clear();
  RC_ASSERT(rows.empty());
}

// Large chunks take another sort (counting passes per byte) than the property's small ones.
TEST(ChunkRows, ALargeChunkHandsOutTheLatestValueOfEachKeyInBytewiseOrder) {
  std::mt19937_64 rng(20261130);
  const std::vector<std::string> stems = {"",         "r",        std::string("s\0", 2),
                                          "kskill-1", "abcdefgh", "abcdefghijklmnopqrst"};
  const std::string alphabet("\0ab\xff\x7f", 5);
  projections::ChunkRows rows(nullptr, nullptr);
  std::map<std::string, std::optional<std::string>> expected;
  for (int i = 0; i < 40000; ++i) {
    std::string key = stems[rng() % stems.size()];
    for (std::size_t n = rng() % 12; n > 0; --n) key += alphabet[rng() % alphabet.size()];
    const std::string value = std::to_string(i);
    switch (rng() % 4) {
      case 0:
        rows.remove(key);
        expected[key] = std::nullopt;
        break;
      case 1:
        rows.put(key, value);
        expected[key] = value;
        break;
      default:
        rows.put_unread(key, value);
        expected[key] = value;
    }
  }
  const std::vector<std::pair<std::string, std::optional<std::string>>> want(expected.begin(),
                                                                             expected.end());
  EXPECT_EQ(sorted_rows(rows), want);
}

TEST(ChunkRows, AWriteOnlyKeyStagedAgainKeepsItsLatestValue) {
  projections::ChunkRows rows(nullptr, nullptr);
  rows.put_unread("l-run-1", "first");
  rows.put("a", "x");
  rows.put_unread("l-run-1", "second");
  rows.put_unread("l-run-0", "only");
  rows.put("l-run-1", "third");
  rows.put_unread("l-run-2", "kept");
  // An indexed key staged again after a put_unread() of it: the last staging still wins.
  rows.put_unread("gone", "1");
  rows.remove("gone");
  rows.put_unread("gone", "2");
  rows.remove("gone");
  EXPECT_EQ(sorted_rows(rows),
            (std::vector<std::pair<std::string, std::optional<std::string>>>{{"a", "x"},
                                                                             {"gone", std::nullopt},
                                                                             {"l-run-0", "only"},
                                                                             {"l-run-1", "third"},
                                                                             {"l-run-2", "kept"}}));
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
