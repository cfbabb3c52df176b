#include <shmcast/shmcast.hpp>

#include <cstdio>
#include <string>
#include <unistd.h>

int main() {
  const std::string name = "consumer-" + std::to_string(::getpid());
  int rc = 1;
  {
    shmcast::Producer p = shmcast::Producer::create(name, {.ring_bytes = 4096});
    shmcast::Reader r(name, {.start = shmcast::StartAt::oldest});
    p.publish(shmcast::bytes_of("hello from an installed shmcast"));
    shmcast::ReadResult e = r.try_read();
    if (e.status == shmcast::ReadStatus::message) {
      std::printf("%.*s\n", static_cast<int>(e.message.payload.size()), reinterpret_cast<const char*>(e.message.payload.data()));
      rc = 0;
    }
  }
  shmcast::Producer::remove(name);
  return rc;
}
