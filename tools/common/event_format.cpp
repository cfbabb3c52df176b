#include "common/event_format.hpp"

#include "common/format.hpp"
#include "common/json.hpp"
#include "common/utf8.hpp"

namespace shmcast::cli {

std::optional<OutputFormat> output_format(std::string_view name) noexcept {
  if (name == "text") return OutputFormat::text;
  if (name == "json") return OutputFormat::json;
  if (name == "hex") return OutputFormat::hex;
  return std::nullopt;
}

void append_escaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto hex = [&](unsigned char c) {
    out += "\\x";
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  };
  for (std::size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c >= 0x20 && c < 0x7F) || c == '\t') {
      out.push_back(static_cast<char>(c));
      ++i;
    } else if (c == '\n') {
      out += "\\n";
      ++i;
    } else if (c == '\r') {
      out += "\\r";
      ++i;
    } else if (c < 0x80) {
      hex(c);  // other C0 controls and DEL
      ++i;
    } else {
      const std::size_t n = utf8_sequence_length(s, i);
      if (n == 0) {
        if (c <= 0x9F) hex(c);  // a C1 control on an 8-bit terminal
        else out.push_back(static_cast<char>(c));
        ++i;
      } else {
        if (utf8_control_or_format_at(s, i, n)) {
          for (std::size_t k = 0; k < n; ++k) hex(static_cast<unsigned char>(s[i + k]));
        } else {
          out.append(s.substr(i, n));
        }
        i += n;
      }
    }
  }
}

void append_message(std::string& out, OutputFormat format, std::uint64_t seq, std::uint32_t type,
                    std::uint64_t timestamp_ns, std::string_view data) {
  switch (format) {
    case OutputFormat::text:
      append_escaped(out, data);
      out += '\n';
      break;
    case OutputFormat::json:
      out += dump_with_bytes(Json{{"seq", seq}, {"type", type}, {"ts_ns", timestamp_ns}, {"len", data.size()}}, "data", data);
      out += '\n';
      break;
    case OutputFormat::hex:
      out += "seq=" + std::to_string(seq) + " type=" + std::to_string(type) + " ts_ns=" + std::to_string(timestamp_ns) +
             " len=" + std::to_string(data.size()) + "\n";
      append_hex_dump(out, data);
      break;
  }
}

void append_gap_json(std::string& out, const Gap& gap) {
  out += dump(Json{{"gap", {{"first", gap.first}, {"missed", gap.missed}, {"cause", to_string(gap.cause)}}}});
  out += '\n';
}

namespace {
const char* why(GapCause cause) noexcept {
  switch (cause) {
    case GapCause::overwritten: return "overwritten before this reader reached them";
    case GapCause::skipped: return "skipped by the producer: never published";
    case GapCause::not_archived: return "not in the archive: its recorder missed them, or retention removed them";
    case GapCause::corrupt: return "a corrupt record in the ring, dropped";
  }
  return "unknown cause";
}
}  // namespace

std::string gap_notice(const Gap& gap) {
  return "gap: missed " + std::to_string(gap.missed) + " messages from sequence " + std::to_string(gap.first) + " (" +
         why(gap.cause) + ")";
}

}  // namespace shmcast::cli
