#include "common/json.hpp"
#include "common/utf8.hpp"

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

std::string dump_with_bytes(const Json& object, std::string_view key, std::string_view bytes) {
  std::string out = dump(object);
  out.pop_back();  // the closing '}'
  if (!object.empty()) out.push_back(',');
  out += dump(Json(std::string(key)));
  out.push_back(':');
  append_json_bytes(out, bytes);
  out.push_back('}');
  return out;
}

}  // namespace shmcast::cli
