// The CLI's JSON: the payload escaper `tail --format json` uses (valid UTF-8 kept,
// everything else escaped, and the exact bytes in base64 beside it when they are not
// valid UTF-8), and the structured
// output through nlohmann::json (field order, types, invalid UTF-8 in text).
#include "common/json.hpp"
#include "common/status_render.hpp"

#include <catch2/catch.hpp>

using shmcast::cli::Json;
using namespace std::string_literals;

namespace {

std::string escaped(std::string_view bytes) {
  std::string out;
  shmcast::cli::append_json_bytes(out, bytes);
  return out;
}

}  // namespace

TEST_CASE("json escapes quotes and backslashes and control characters", "[json]") {
  CHECK(escaped("hello") == R"("hello")");
  CHECK(escaped("") == R"("")");
  CHECK(escaped("a\"b\\c") == R"("a\"b\\c")");
  CHECK(escaped("\n\r\t\b\f") == R"("\n\r\t\b\f")");
  CHECK(escaped("\x01\x1f\x7f"s) == R"("\u0001\u001f\u007f")");
  CHECK(escaped("nul\0byte"s) == R"("nul\u0000byte")");
}

TEST_CASE("json keeps valid UTF-8 as is", "[json]") {
  CHECK(escaped("h\xc3\xa9llo") == "\"h\xc3\xa9llo\"");               // 2 bytes
  CHECK(escaped("\xe2\x82\xac") == "\"\xe2\x82\xac\"");                 // euro sign, 3 bytes
  CHECK(escaped("\xf0\x9f\x98\x80") == "\"\xf0\x9f\x98\x80\"");         // emoji, 4 bytes
  CHECK(escaped("\xf4\x8f\xbf\xbf") == "\"\xf4\x8f\xbf\xbf\"");         // U+10FFFF
}

TEST_CASE("json writes bytes that are not valid UTF-8 as u00XX escapes", "[json]") {
  CHECK(escaped("\xff") == R"("\u00ff")");
  CHECK(escaped("a\x80z") == R"("a\u0080z")");                          // stray continuation
  CHECK(escaped("\xc3") == R"("\u00c3")");                              // truncated at the end
  CHECK(escaped("\xc3(") == R"("\u00c3(")");                            // bad continuation
  CHECK(escaped("\xc0\xaf") == R"("\u00c0\u00af")");                    // overlong '/'
  CHECK(escaped("\xe0\x80\xaf") == R"("\u00e0\u0080\u00af")");          // overlong 3-byte
  CHECK(escaped("\xed\xa0\x80") == R"("\u00ed\u00a0\u0080")");          // surrogate U+D800
  CHECK(escaped("\xf4\x90\x80\x80") == R"("\u00f4\u0090\u0080\u0080")"); // above U+10FFFF
  CHECK(escaped("\xf5\x80") == R"("\u00f5\u0080")");
  CHECK(escaped("\xe2\x82") == R"("\u00e2\u0082")");                    // truncated 3-byte
}

TEST_CASE("json base64 is RFC 4648's, padding included", "[json]") {
  using shmcast::cli::base64;
  // RFC 4648, section 10.
  CHECK(base64("") == "");
  CHECK(base64("f") == "Zg==");
  CHECK(base64("fo") == "Zm8=");
  CHECK(base64("foo") == "Zm9v");
  CHECK(base64("foob") == "Zm9vYg==");
  CHECK(base64("fooba") == "Zm9vYmE=");
  CHECK(base64("foobar") == "Zm9vYmFy");
  CHECK(base64("\xff\xfe\x00\x80"s) == "//4AgA==");
  CHECK(base64("\xfb\xff"s) == "+/8=");  // both characters past the letters and digits
}

TEST_CASE("json tells a raw byte from the character with its value", "[json]") {
  // After JSON parsing, the raw byte 0xE9 and the character U+00E9 are the same string;
  // only the first carries its bytes again, in base64.
  const std::string raw = shmcast::cli::dump_with_bytes(Json::object(), "data", "\xe9");
  const std::string text = shmcast::cli::dump_with_bytes(Json::object(), "data", "\xc3\xa9");
  CHECK(Json::parse(raw)["data"] == Json::parse(text)["data"]);
  CHECK(Json::parse(raw)["data_base64"] == "6Q==");
  CHECK_FALSE(Json::parse(text).contains("data_base64"));
  CHECK(shmcast::cli::valid_utf8("h\xc3\xa9llo \xf0\x9f\x98\x80"));
  CHECK(shmcast::cli::valid_utf8(""));
  CHECK_FALSE(shmcast::cli::valid_utf8("\xe9"));
  CHECK_FALSE(shmcast::cli::valid_utf8("ok\xe2\x82"));  // truncated at the end
  CHECK_FALSE(shmcast::cli::valid_utf8("\xed\xa0\x80"));  // a surrogate
}

TEST_CASE("json objects keep their field order and carry payload bytes last", "[json]") {
  CHECK(shmcast::cli::dump(Json{{"b", 1}, {"a", "x\""}, {"c", true}}) == R"({"b":1,"a":"x\"","c":true})");
  CHECK(shmcast::cli::dump(Json::object()) == "{}");
  CHECK(shmcast::cli::dump_with_bytes(Json{{"seq", 7}, {"len", 2}}, "data", "\xff" "a") ==
        R"({"seq":7,"len":2,"data":"\u00ffa","data_base64":"/2E="})");
  CHECK(shmcast::cli::dump_with_bytes(Json{{"len", 3}}, "data", "h\xc3\xa9") == "{\"len\":3,\"data\":\"h\xc3\xa9\"}");
  CHECK(shmcast::cli::dump_with_bytes(Json::object(), "data", "") == R"({"data":""})");
  // Text that is not valid UTF-8 (a name, a label) is replaced, not a reason to throw.
  CHECK(shmcast::cli::dump(Json{{"label", "a\xff"}}) == "{\"label\":\"a\xef\xbf\xbd\"}");
}

TEST_CASE("stat --json survives a reader label that is not valid UTF-8", "[json]") {
  shmcast::RingStatus st;
  st.name = "r";
  st.geometry = shmcast::Geometry{.ring_bytes = 8192};
  st.mode = 0640;
  st.head = 5;
  st.oldest = 2;
  st.held = 3;
  st.held_bytes = 96;
  st.rate = 12.34567;
  st.live_readers = 1;
  st.readers.push_back(shmcast::ReaderStatus{.id = 3, .pid = 42, .alive = true, .label = "bad\xc3(", .position = 4, .lag = 1});
  std::string text;
  REQUIRE_NOTHROW(text = shmcast::cli::stat_json(st));
  const Json parsed = Json::parse(text);
  CHECK(parsed.begin().key() == "name");
  CHECK(parsed["ring_bytes"] == 8192);
  CHECK(parsed["max_message"] == 2048);  // the default, resolved: a quarter of the ring
  CHECK(parsed["head"] == 5);
  CHECK(parsed["oldest"] == 2);
  CHECK(parsed["held"] == 3);
  CHECK(parsed["held_bytes"] == 96);
  for (const char* gone : {"slots", "slot_size", "payload_capacity"}) CHECK_FALSE(parsed.contains(gone));
  CHECK(parsed["mode"] == "0640");
  CHECK(parsed["rate"] == 12.346);
  CHECK(parsed["producer"]["alive"] == false);
  CHECK(parsed["live_readers"] == 1);
  CHECK_FALSE(parsed.contains("snapshot"));
  CHECK_FALSE(parsed.contains("relay"));
  REQUIRE(parsed["readers"].size() == 1);
  const Json& r = parsed["readers"][0];
  CHECK(r["id"] == 3);
  CHECK(r["pid"] == 42);
  CHECK(r["lag"] == 1);
  CHECK(r["label"].get<std::string>().rfind("bad", 0) == 0);
  CHECK_FALSE(r.contains("external_position"));
  CHECK_FALSE(r.contains("counters_settled"));  // shown only when they are not
  CHECK(shmcast::cli::stat_text(st).find("mix two moments") == std::string::npos);
  // Counters an owner was writing all the while: said, in both forms.
  st.readers[0].counters_settled = false;
  CHECK(Json::parse(shmcast::cli::stat_json(st))["readers"][0]["counters_settled"] == false);
  CHECK(shmcast::cli::stat_text(st).find("reader 3: its counters were being written") != std::string::npos);
}

TEST_CASE("stat's JSON and text keep 64-bit figures exact", "[json]") {
  shmcast::RingStatus st;
  st.name = "big";
  st.geometry = shmcast::Geometry{.ring_bytes = std::uint64_t{64} << 30, .max_message = 1u << 30};
  st.head = UINT64_MAX;
  st.held = 3;
  st.oldest = UINT64_MAX - 3;
  st.held_bytes = std::uint64_t{48} << 30;
  const Json parsed = Json::parse(shmcast::cli::stat_json(st));
  CHECK(parsed["ring_bytes"].get<std::uint64_t>() == std::uint64_t{64} << 30);
  CHECK(parsed["max_message"].get<std::uint64_t>() == 1u << 30);
  CHECK(parsed["head"].get<std::uint64_t>() == UINT64_MAX);
  CHECK(parsed["oldest"].get<std::uint64_t>() == UINT64_MAX - 3);
  CHECK(parsed["held_bytes"].get<std::uint64_t>() == std::uint64_t{48} << 30);
  const std::string text = shmcast::cli::stat_text(st);
  INFO(text);
  CHECK(text.find("64.0 GiB ring, messages up to 1073741824 B") != std::string::npos);
  CHECK(text.find("sequences 18446744073709551612-18446744073709551614 (3), 48.0 GiB of the ring (75.0%)") !=
        std::string::npos);
  st.held = 0;
  st.oldest = st.head;
  CHECK(shmcast::cli::stat_text(st).find("held       nothing") != std::string::npos);
}
