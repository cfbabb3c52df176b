#include "common/json.hpp"
#include "common/utf8.hpp"

#include <boost/archive/iterators/base64_from_binary.hpp>
#include <boost/archive/iterators/transform_width.hpp>

#include <cstddef>

namespace shmcast::cli {

std::string dump(const Json& value) { return value.dump(-1, ' ', false, Json::error_handler_t::replace); }

void append_json_bytes(std::string& out, std::string_view bytes) {
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

bool valid_utf8(std::string_view bytes) noexcept {
  for (std::size_t i = 0; i < bytes.size();) {
    const std::size_t n = utf8_sequence_length(bytes, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string base64(std::string_view bytes) {
  // Six bits at a time from the bytes (the last group filled with zero bits), each mapped
  // to its character; then '=' up to a multiple of four characters.
  using namespace boost::archive::iterators;
  using Encoder = base64_from_binary<transform_width<const char*, 6, 8>>;
  std::string out(Encoder(bytes.data()), Encoder(bytes.data() + bytes.size()));
  out.append((4 - out.size() % 4) % 4, '=');
  return out;
}

std::string dump_with_bytes(const Json& object, std::string_view key, std::string_view bytes) {
  std::string out = dump(object);
  out.pop_back();  // the closing '}'
  if (!object.empty()) out.push_back(',');
  out += dump(Json(std::string(key)));
  out.push_back(':');
  append_json_bytes(out, bytes);
  if (!valid_utf8(bytes)) {
    out.push_back(',');
    out += dump(Json(std::string(key) + "_base64"));
    out += ":\"" + base64(bytes) + '"';
  }
  out.push_back('}');
  return out;
}

}  // namespace shmcast::cli
