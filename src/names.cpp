#include "names.hpp"

#include <shmcast/error.hpp>
#include <shmcast/inspect.hpp>

#include <algorithm>
#include <dirent.h>

namespace shmcast {

namespace detail {

namespace {
constexpr std::string_view kPrefix = "shmcast.";
constexpr std::string_view kRegistrySuffix = ".readers";
constexpr std::size_t kMaxNameLength = 200;

bool is_registry_name(std::string_view name) noexcept {
  return name.size() >= kRegistrySuffix.size() && name.substr(name.size() - kRegistrySuffix.size()) == kRegistrySuffix;
}

// A refused name as the error quotes it: printable ASCII as it is, a backslash and every
// other byte escaped (\\, \xHH), so that the message is whole text (no NUL ends it early)
// and cannot drive a terminal or a log viewer, whichever program prints it.
std::string quoted_name(std::string_view name) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "'";
  for (const char ch : name) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\\') {
      out += "\\\\";
    } else if (c >= 0x20 && c < 0x7F) {
      out.push_back(ch);
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out + "'";
}
}  // namespace

void validate_name(std::string_view name) {
  auto bad = [&](const std::string& why) {
    throw Error(Errc::invalid_argument, "invalid ring name " + quoted_name(name) + ": " + why);
  };
  if (name.empty()) bad("it is empty");
  if (name.size() > kMaxNameLength) bad("it is longer than 200 characters");
  if (name.front() == '.') bad("it may not start with '.'");
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) bad("use only letters, digits, '.', '_' and '-'");
  }
  if (is_registry_name(name)) bad("names ending in '.readers' are reserved for reader registries");
}

std::string ring_object_name(std::string_view name) { return std::string(kPrefix) + std::string(name); }
std::string registry_object_name(std::string_view name) { return ring_object_name(name) + std::string(kRegistrySuffix); }
std::string object_path(std::string_view object_name) { return "/dev/shm/" + std::string(object_name); }

}  // namespace detail

std::vector<std::string> list_rings() {
  std::vector<std::string> names;
  DIR* dir = ::opendir("/dev/shm");
  if (dir == nullptr) return names;
  while (const dirent* d = ::readdir(dir)) {
    const std::string_view file = d->d_name;
    if (file.substr(0, detail::kPrefix.size()) != detail::kPrefix) continue;
    const std::string_view name = file.substr(detail::kPrefix.size());
    if (!name.empty() && !detail::is_registry_name(name)) names.emplace_back(name);
  }
  ::closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace shmcast
