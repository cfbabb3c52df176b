// How `tail` and `dump` print events, in one place: the three output formats and the
// escaping that keeps a payload from controlling the terminal.
#pragma once

#include <shmcast/types.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shmcast::cli {

enum class OutputFormat { text, json, hex };

// "text", "json" or "hex"; nullopt otherwise.
[[nodiscard]] std::optional<OutputFormat> output_format(std::string_view name) noexcept;

// Text format: the bytes as they are, except what a terminal would take as a control or
// what would disguise the text shown: C0 controls but tab, DEL, C1 controls (raw bytes
// 0x80-0x9f outside a UTF-8 sequence, or U+0080-U+009F encoded) and the invisible format
// characters utf8_control_or_format_at names (bidi controls, zero-width and tag
// characters, line separators) become \n, \r or \xNN (each byte), so a payload can neither
// start a new line nor move the cursor, recolour or retitle the terminal, nor reorder or
// hide what it shows.
void append_escaped(std::string& out, std::string_view bytes);

// A message, one line (text, json) or a header line and a hex dump (hex).
void append_message(std::string& out, OutputFormat format, std::uint64_t seq, std::uint32_t type,
                    std::uint64_t timestamp_ns, std::string_view data);
// A gap in the json format: {"gap":{"first":F,"missed":N,"cause":C}} and a newline, C being
// to_string(GapCause). In the text and hex formats a gap is a notice on standard error, not
// data (gap_notice), which says the cause in words.
void append_gap_json(std::string& out, const Gap& gap);
[[nodiscard]] std::string gap_notice(const Gap& gap);

}  // namespace shmcast::cli
