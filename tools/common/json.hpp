// JSON for the CLI: nlohmann::ordered_json (fields keep the order they are set in) for
// every structured output, and one escaper of our own for payload bytes.
//
// Why payloads are escaped here and not by the library: payloads are arbitrary bytes,
// JSON strings are Unicode, and a JSON library replaces (or refuses) bytes that are not
// valid UTF-8. append_json_bytes() copies valid UTF-8 sequences as they are, gives '"',
// '\\' and control characters their JSON escapes, and writes every byte that is not part
// of a valid UTF-8 sequence (a stray continuation byte, a truncated or overlong sequence,
// a surrogate, anything above U+10FFFF) as \u00XX with XX the byte's value, so that a
// person can see it. After parsing, that escape is the character U+00XX, the same string
// a payload holding that character's two UTF-8 bytes gives: the string alone cannot say
// which bytes were sent. So an event whose bytes are not valid UTF-8 carries them a
// second time, exactly, as `KEY_base64` (RFC 4648, with padding): a consumer takes that
// field when it is there and the string otherwise, and gets the payload's bytes with any
// JSON parser.
//
// Everything else (names, labels, errors) is text: dump() replaces invalid UTF-8 in it
// with U+FFFD rather than throwing, so a hostile reader label cannot break `stat --json`.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

namespace shmcast::cli {

using Json = nlohmann::ordered_json;

// `value` on one line, without a newline.
[[nodiscard]] std::string dump(const Json& value);

// Appends `bytes` to `out` as a quoted JSON string (see the file comment).
void append_json_bytes(std::string& out, std::string_view bytes);

// Whether every byte of `bytes` is part of a valid UTF-8 sequence (utf8.hpp).
[[nodiscard]] bool valid_utf8(std::string_view bytes) noexcept;

// `bytes` in base64 (RFC 4648, the standard alphabet, with '=' padding).
[[nodiscard]] std::string base64(std::string_view bytes);

// `object` (a JSON object) on one line with one more field, last: `key` with the JSON
// string of `bytes` (append_json_bytes), and, when `bytes` are not valid UTF-8, a field
// after it, `key` + "_base64", with the bytes in base64. For the events that carry a
// payload or snapshot.
[[nodiscard]] std::string dump_with_bytes(const Json& object, std::string_view key, std::string_view bytes);

}  // namespace shmcast::cli
