// JSON output helpers for the CLI: string escaping with UTF-8 validation.
//
// Payloads are arbitrary bytes, JSON strings are Unicode. Valid UTF-8 sequences are
// copied as they are; '"', '\\' and control characters get their JSON escapes; every
// byte that is not part of a valid UTF-8 sequence (a stray continuation byte, a
// truncated or overlong sequence, a surrogate, anything above U+10FFFF) is written as
// \u00XX with XX the byte's value. So a consumer that wants the raw bytes back maps
// each \u0080-\u00FF escape to one byte: valid text never produces those escapes,
// because a real U+0080..U+00FF character is copied as its two UTF-8 bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace shmcast::cli {

// Length of the valid UTF-8 sequence starting at s[i], or 0 if it is not valid (RFC 3629).
inline std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b0 = byte(i);
  if (b0 < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;  // no overlong forms
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;  // no overlong forms
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k)
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  return n;
}

// Appends `bytes` to `out` as a quoted JSON string (see the file comment).
inline void append_json_string(std::string& out, std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t i = 0;
  while (i < bytes.size()) {
    const auto c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x80) {
      const std::size_t n = utf8_sequence_length(bytes, i);
      if (n != 0) {
        out.append(bytes.data() + i, n);
        i += n;
        continue;
      }
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7F || c >= 0x80) {
          out += "\\u00";
          out.push_back(kHex[c >> 4]);
          out.push_back(kHex[c & 0xF]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
    ++i;
  }
  out.push_back('"');
}

inline std::string json_string(std::string_view bytes) {
  std::string out;
  append_json_string(out, bytes);
  return out;
}

// A tiny builder for one flat-or-nested JSON object on one line: {"a":1,"b":"x"}.
class JsonObject {
 public:
  JsonObject& field(std::string_view key, std::uint64_t value) {
    key_(key);
    out_ += std::to_string(value);
    return *this;
  }
  JsonObject& field(std::string_view key, std::int64_t value) {
    key_(key);
    out_ += std::to_string(value);
    return *this;
  }
  JsonObject& field(std::string_view key, std::uint32_t value) { return field(key, std::uint64_t{value}); }
  JsonObject& field(std::string_view key, int value) { return field(key, std::int64_t{value}); }
  JsonObject& field(std::string_view key, double value) {
    key_(key);
    char buf[64];
    const int n = std::snprintf(buf, sizeof buf, "%.3f", value);
    out_.append(buf, static_cast<std::size_t>(n));
    return *this;
  }
  JsonObject& field(std::string_view key, bool value) {
    key_(key);
    out_ += value ? "true" : "false";
    return *this;
  }
  JsonObject& field(std::string_view key, std::string_view value) {
    key_(key);
    append_json_string(out_, value);
    return *this;
  }
  JsonObject& field(std::string_view key, const char* value) { return field(key, std::string_view(value)); }
  // `json` must already be valid JSON (an object or array built elsewhere).
  JsonObject& raw(std::string_view key, std::string_view json) {
    key_(key);
    out_ += json;
    return *this;
  }
  [[nodiscard]] std::string str() const { return out_ + "}"; }

 private:
  void key_(std::string_view key) {
    if (!first_) out_.push_back(',');
    first_ = false;
    append_json_string(out_, key);
    out_.push_back(':');
  }
  std::string out_ = "{";
  bool first_ = true;
};

}  // namespace shmcast::cli
