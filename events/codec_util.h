// Small helpers shared by the codecs between domain structs and FlatBuffers payloads: optional
// strings and scalars in both directions.
#pragma once

#include <flatbuffers/flatbuffers.h>

#include <optional>
#include <string>

namespace annals::events::codec {

using Builder = flatbuffers::FlatBufferBuilder;
using Str = flatbuffers::Offset<flatbuffers::String>;

// An absent optional writes no field.
inline Str opt_string(Builder& b, const std::optional<std::string>& s) {
  return s ? b.CreateString(*s) : Str();
}
inline std::optional<std::string> opt(const flatbuffers::String* s) {
  return s ? std::optional<std::string>(s->str()) : std::nullopt;
}
inline std::string str(const flatbuffers::String* s, const char* fallback = "") {
  return s ? s->str() : std::string(fallback);
}
template <typename T>
std::optional<T> opt_scalar(const flatbuffers::Optional<T>& v) {
  return v ? std::optional<T>(*v) : std::nullopt;
}

}  // namespace annals::events::codec
