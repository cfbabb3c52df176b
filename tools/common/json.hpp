// JSON for the CLI: nlohmann::ordered_json (fields keep the order they are set in) for
// every structured output, and one escaper of our own for payload bytes.
//
// Why payloads are escaped here and not by the library: payloads are arbitrary bytes,
// JSON strings are Unicode, and a JSON library replaces (or refuses) bytes that are not
// valid UTF-8, so they could not be recovered. append_json_bytes() copies valid UTF-8
// sequences as they are, gives '"', '\\' and control characters their JSON escapes, and
// writes every byte that is not part of a valid UTF-8 sequence (a stray continuation
// byte, a truncated or overlong sequence, a surrogate, anything above U+10FFFF) as \u00XX
// with XX the byte's value. A consumer that wants the raw bytes back maps each
// \u0080-\u00FF escape to one byte: valid text never produces those escapes, because a
// real U+0080..U+00FF character is copied as its two UTF-8 bytes.
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

// `object` (a JSON object) on one line with one more field, last: `key` with the JSON
// string of `bytes` (append_json_bytes). For the events that carry a payload or snapshot.
[[nodiscard]] std::string dump_with_bytes(const Json& object, std::string_view key, std::string_view bytes);

}  // namespace shmcast::cli
