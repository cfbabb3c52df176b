// UTF-8 validity, the one rule every output path of the CLI escapes by (printable(), the
// JSON payload escaper, Prometheus label values, tail's and dump's text format), and the
// valid characters that the paths a terminal shows (all but JSON) escape too.
#pragma once

#include <cstddef>
#include <string_view>

namespace shmcast::cli {

// The length of the valid UTF-8 sequence starting at s[i] (1 for ASCII), or 0 if none
// starts there (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF).
[[nodiscard]] inline std::size_t utf8_sequence_length(std::string_view s, std::size_t i) noexcept {
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

// The code point of the valid UTF-8 sequence of `n` bytes at s[i] (utf8_sequence_length).
[[nodiscard]] inline char32_t utf8_code_point(std::string_view s, std::size_t i, std::size_t n) noexcept {
  static constexpr unsigned char kLeadBits[] = {0, 0x7F, 0x1F, 0x0F, 0x07};
  char32_t c = static_cast<unsigned char>(s[i]) & kLeadBits[n];
  for (std::size_t k = 1; k < n; ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  return c;
}

// A character that human-readable output escapes although it is valid UTF-8, because a
// terminal acts on it or it disguises what the terminal shows around it: a C1 control
// (U+0080..U+009F), which some terminals obey as they do a C0 control, or an invisible
// format character: the bidi marks, embeddings, overrides and isolates (U+061C, U+200E,
// U+200F, U+202A..U+202E, U+2066..U+2069), which reorder the text shown (a "Trojan Source"
// spoof of a payload or a label), the zero-width and invisible characters (U+00AD,
// U+180E, U+200B..U+200D, U+2060..U+2065, U+206A..U+206F, U+FEFF), the line and paragraph
// separators (U+2028, U+2029), and the tag characters (U+E0001, U+E0020..U+E007F), which
// carry hidden ASCII text.
[[nodiscard]] inline bool utf8_control_or_format_at(std::string_view s, std::size_t i, std::size_t n) noexcept {
  const char32_t c = utf8_code_point(s, i, n);
  return (c >= 0x80 && c <= 0x9F) || c == 0xAD || c == 0x061C || c == 0x180E || (c >= 0x200B && c <= 0x200F) ||
         (c >= 0x2028 && c <= 0x202E) || (c >= 0x2060 && c <= 0x206F) || c == 0xFEFF || c == 0xE0001 ||
         (c >= 0xE0020 && c <= 0xE007F);
}

}  // namespace shmcast::cli
