// The naming scheme of shared-memory objects: ring NAME is `/shmcast.NAME`, its reader
// registry `/shmcast.NAME.readers`. The only file that spells it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace shmcast::detail {

// Ring names: 1-200 of [A-Za-z0-9._-], not starting with '.', not ending in ".readers".
// Throws Errc::invalid_argument saying what is wrong.
void validate_name(std::string_view name);
std::string ring_object_name(std::string_view name);      // "shmcast.NAME" (Boost adds the '/')
std::string registry_object_name(std::string_view name);  // "shmcast.NAME.readers"
std::string object_path(std::string_view object_name);    // "/dev/shm/" + object name

}  // namespace shmcast::detail
