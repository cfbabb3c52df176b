// shmcast archive-info DIR: what an archive holds: its sequence range, messages, gaps,
// bytes and segments, and the time its messages span.
#include "commands.hpp"
#include "common/format.hpp"
#include "common/json.hpp"
#include "common/status_render.hpp"

#include <shmcast/archive.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace shmcast::cli {

namespace {

struct InfoArgs {
  std::string dir;
  bool json = false;
};

// Why the sequences in gaps are not there: ": 100 skipped by the producer, 45 missed by the
// recorder"; nothing when the recorder missed them all, which "not recorded" already says.
std::string missed_parts(const ArchiveInfo& i) {
  const std::uint64_t by_recorder = i.missed - i.skipped - i.corrupt;
  if (by_recorder == i.missed) return {};
  std::vector<std::string> parts;
  if (i.skipped != 0) parts.push_back(std::to_string(i.skipped) + " skipped by the producer");
  if (i.corrupt != 0) parts.push_back(std::to_string(i.corrupt) + " dropped as corrupt");
  if (by_recorder != 0) parts.push_back(std::to_string(by_recorder) + " missed by the recorder");
  std::string out;
  for (const std::string& part : parts) out += (out.empty() ? ": " : ", ") + part;
  return out;
}

void run(const InfoArgs& a) {
  const ArchiveInfo i = Archive(a.dir, EmptyArchive::empty).info();
  std::string out;
  if (a.json) {
    out = dump(Json{{"dir", a.dir},
                    {"empty", i.empty},
                    {"first_seq", i.first_seq},
                    {"next_seq", i.next_seq},
                    {"messages", i.messages},
                    {"gaps", i.gaps},
                    {"missed", i.missed},
                    {"skipped", i.skipped},
                    {"corrupt", i.corrupt},
                    {"bytes", i.bytes},
                    {"segments", i.segments},
                    {"ring_id", ring_id_text(i.ring_id)},
                    {"first_ns", i.first_ns},
                    {"last_ns", i.last_ns}}) +
          "\n";
  } else {
    out = "archive " + printable(a.dir) + "\n";
    if (i.empty) {
      out += i.segments == 0 ? "  empty\n" : "  empty: records go on at sequence " + std::to_string(i.next_seq) + "\n";
    } else {
      out += "  sequences  " + std::to_string(i.first_seq) + " .. " + std::to_string(i.next_seq - 1) + " (" +
             std::to_string(i.next_seq - i.first_seq) + ")\n";
      out += "  messages   " + std::to_string(i.messages) + "\n";
      out += "  gaps       " + std::to_string(i.gaps) + " (" + std::to_string(i.missed) + " sequences not recorded" +
             missed_parts(i) + ")\n";
      if (i.messages != 0 && i.last_ns >= i.first_ns)
        out += "  spans      " + human_duration(i.last_ns - i.first_ns) + "\n";
    }
    out += "  size       " + human_bytes(i.bytes) + " in " + count_of(i.segments, "segment") + "\n";
    if (i.segments != 0) out += "  ring id    " + ring_id_text(i.ring_id) + "\n";  // in the segments' headers
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
}

}  // namespace

void add_archive_info_command(CLI::App& app) {
  auto args = std::make_shared<InfoArgs>();
  CLI::App* sub = app.add_subcommand("archive-info", "Show what an archive written by `shmcast record` holds");
  sub->footer("JSON (--json): {\"dir\",\"empty\",\"first_seq\",\"next_seq\",\"messages\",\"gaps\",\"missed\",\"skipped\","
              "\"corrupt\",\"bytes\",\"segments\",\"ring_id\",\"first_ns\",\"last_ns\"}. missed counts the "
              "sequences in gaps: skipped of them the producer skipped, corrupt the recorder dropped as damaged, the "
              "rest the recorder missed. next_seq is the sequence after the last one recorded "
              "(empty: no record yet; next_seq then says where records go on if a segment is started); "
              "ring_id is a string (16 hex digits, as `stat` prints it).");
  sub->add_option("dir", args->dir, "Archive directory")->required();
  sub->add_flag("--json", args->json, "One JSON object");
  sub->callback([args] { run(*args); });
}

}  // namespace shmcast::cli
