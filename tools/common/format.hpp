// Human-readable output for the CLI: sizes, durations, rates, tables, hex dumps.
#pragma once

#include "common/utf8.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace shmcast::cli {

// A ring id as `stat`, the JSON and the bridge's Shmcast-Ring-Id header print it: 16
// lowercase hex digits. A string in JSON, since a 64-bit id does not survive parsers
// that read numbers as doubles.
inline std::string ring_id_text(std::uint64_t ring_id) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(ring_id));
  return buf;
}

// "512 B", "4.0 KiB", "1.5 MiB".
inline std::string human_bytes(std::uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes);
  std::size_t u = 0;
  while (v >= 1024.0 && u + 1 < std::size(kUnits)) {
    v /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  return buf;
}

// A duration in nanoseconds as "850 ms", "12.3 s", "4m05s", "3h12m", "2d04h".
inline std::string human_duration(std::uint64_t ns) {
  char buf[32];
  const std::uint64_t s = ns / 1'000'000'000ull;
  if (ns < 1'000'000ull) std::snprintf(buf, sizeof buf, "%llu us", static_cast<unsigned long long>(ns / 1000));
  else if (ns < 1'000'000'000ull) std::snprintf(buf, sizeof buf, "%llu ms", static_cast<unsigned long long>(ns / 1'000'000));
  else if (s < 60) std::snprintf(buf, sizeof buf, "%.1f s", static_cast<double>(ns) / 1e9);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%llum%02llus", static_cast<unsigned long long>(s / 60), static_cast<unsigned long long>(s % 60));
  else if (s < 86400) std::snprintf(buf, sizeof buf, "%lluh%02llum", static_cast<unsigned long long>(s / 3600), static_cast<unsigned long long>(s % 3600 / 60));
  else std::snprintf(buf, sizeof buf, "%llud%02lluh", static_cast<unsigned long long>(s / 86400), static_cast<unsigned long long>(s % 86400 / 3600));
  return buf;
}

// "3.2 s ago" for a CLOCK_REALTIME timestamp, "never" for 0.
inline std::string human_age(std::uint64_t then_ns, std::uint64_t now_ns) {
  if (then_ns == 0) return "never";
  if (then_ns >= now_ns) return "just now";
  return human_duration(now_ns - then_ns) + " ago";
}

inline std::string human_rate(double per_second, std::string_view unit) {
  char buf[48];
  if (per_second >= 1e6) std::snprintf(buf, sizeof buf, "%.2f M%.*s/s", per_second / 1e6, static_cast<int>(unit.size()), unit.data());
  else if (per_second >= 1e3) std::snprintf(buf, sizeof buf, "%.1f k%.*s/s", per_second / 1e3, static_cast<int>(unit.size()), unit.data());
  else std::snprintf(buf, sizeof buf, "%.1f %.*s/s", per_second, static_cast<int>(unit.size()), unit.data());
  return buf;
}

// "1 message", "2 messages", "0 messages"; `plural_form` for irregular ones.
inline std::string count_of(std::uint64_t n, std::string_view singular, std::string_view plural_form = {}) {
  std::string out = std::to_string(n) + " ";
  if (n == 1) out += singular;
  else if (!plural_form.empty()) out += plural_form;
  else (out += singular) += "s";
  return out;
}

// Makes a message fit on one line: newlines and tabs become spaces.
inline std::string one_line(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Text from shared memory or the command line (reader labels, ring names, error
// reasons) made safe to print to a terminal, on one line: a backslash becomes \\, a
// newline \n, a carriage return \r, a tab \t, any other C0 control (0x00-0x1F) or DEL
// (0x7F) \xHH, a C1 control or an invisible format character (utf8_control_or_format_at:
// U+009B, U+202E) \uHHHH (\UHHHHHHHH past U+FFFF: the tag characters), and any byte that
// is not part of a valid UTF-8 sequence \xHH (a lone 0x9B is CSI on some terminals). Valid
// UTF-8 text otherwise is copied unchanged. Use it for every string in human-readable output.
inline std::string printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  auto escape = [&](const char* prefix, unsigned char c) {
    out += prefix;
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 0xF]);
  };
  for (std::size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c == '\\') out += "\\\\";
      else if (c == '\n') out += "\\n";
      else if (c == '\r') out += "\\r";
      else if (c == '\t') out += "\\t";
      else if (c < 0x20 || c == 0x7F) escape("\\x", c);
      else out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    const std::size_t n = utf8_sequence_length(text, i);
    if (n == 0) {
      escape("\\x", c);
      ++i;
    } else if (utf8_control_or_format_at(text, i, n)) {
      const char32_t code_point = utf8_code_point(text, i, n);
      if (code_point > 0xFFFF) {
        escape("\\U", static_cast<unsigned char>(code_point >> 24));
        escape("", static_cast<unsigned char>(code_point >> 16));
      } else {
        out += "\\u";
      }
      escape("", static_cast<unsigned char>(code_point >> 8));
      escape("", static_cast<unsigned char>(code_point & 0xFF));
      i += n;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

// A left-aligned text table with a header row; numeric-looking cells are right-aligned.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : rows_{std::move(header)} {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  [[nodiscard]] std::string render(std::string_view indent = "") const {
    std::vector<std::size_t> width;
    for (const auto& row : rows_)
      for (std::size_t i = 0; i < row.size(); ++i) {
        if (width.size() <= i) width.push_back(0);
        width[i] = std::max(width[i], row[i].size());
      }
    std::string out;
    for (std::size_t r = 0; r < rows_.size(); ++r) {
      std::string line(indent);
      for (std::size_t i = 0; i < rows_[r].size(); ++i) {
        const std::string& cell = rows_[r][i];
        const bool numeric = r > 0 && !cell.empty() && cell.find_first_not_of("0123456789.-") == std::string::npos;
        const std::string pad(width[i] - cell.size(), ' ');
        line += numeric ? pad + cell : cell + pad;
        if (i + 1 < rows_[r].size()) line += "  ";
      }
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line;
      out += '\n';
    }
    return out;
  }

 private:
  std::vector<std::vector<std::string>> rows_;
};

// xxd-like dump: "00000000: 6865 6c6c 6f0a                           hello."
inline void append_hex_dump(std::string& out, std::string_view bytes, std::string_view indent = "  ") {
  static constexpr char kHex[] = "0123456789abcdef";
  for (std::size_t off = 0; off < bytes.size(); off += 16) {
    char head[32];
    std::snprintf(head, sizeof head, "%08zx: ", off);
    out += indent;
    out += head;
    const std::size_t n = std::min<std::size_t>(16, bytes.size() - off);
    for (std::size_t i = 0; i < 16; ++i) {
      if (i < n) {
        const auto c = static_cast<unsigned char>(bytes[off + i]);
        out.push_back(kHex[c >> 4]);
        out.push_back(kHex[c & 0xF]);
      } else {
        out += "  ";
      }
      if (i % 2 == 1) out.push_back(' ');
    }
    out.push_back(' ');
    for (std::size_t i = 0; i < n; ++i) {
      const auto c = static_cast<unsigned char>(bytes[off + i]);
      out.push_back(c >= 0x20 && c < 0x7F ? static_cast<char>(c) : '.');
    }
    out.push_back('\n');
  }
}

}  // namespace shmcast::cli
