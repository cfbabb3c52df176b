// The JSON string escaper `tail --format json` uses: valid UTF-8 kept, everything
// else escaped so that the output is always valid JSON.
#include "common/json.hpp"

#include <catch2/catch.hpp>

using shmcast::cli::json_string;
using namespace std::string_literals;

TEST_CASE("json escapes quotes and backslashes and control characters", "[json]") {
  CHECK(json_string("hello") == R"("hello")");
  CHECK(json_string("") == R"("")");
  CHECK(json_string("a\"b\\c") == R"("a\"b\\c")");
  CHECK(json_string("\n\r\t\b\f") == R"("\n\r\t\b\f")");
  CHECK(json_string("\x01\x1f\x7f"s) == R"("\u0001\u001f\u007f")");
  CHECK(json_string("nul\0byte"s) == R"("nul\u0000byte")");
}

TEST_CASE("json keeps valid UTF-8 as is", "[json]") {
  CHECK(json_string("h\xc3\xa9llo") == "\"h\xc3\xa9llo\"");               // 2 bytes
  CHECK(json_string("\xe2\x82\xac") == "\"\xe2\x82\xac\"");                 // euro sign, 3 bytes
  CHECK(json_string("\xf0\x9f\x98\x80") == "\"\xf0\x9f\x98\x80\"");         // emoji, 4 bytes
  CHECK(json_string("\xf4\x8f\xbf\xbf") == "\"\xf4\x8f\xbf\xbf\"");         // U+10FFFF
}

TEST_CASE("json writes bytes that are not valid UTF-8 as u00XX escapes", "[json]") {
  CHECK(json_string("\xff") == R"("\u00ff")");
  CHECK(json_string("a\x80z") == R"("a\u0080z")");                          // stray continuation
  CHECK(json_string("\xc3") == R"("\u00c3")");                              // truncated at the end
  CHECK(json_string("\xc3(") == R"("\u00c3(")");                            // bad continuation
  CHECK(json_string("\xc0\xaf") == R"("\u00c0\u00af")");                    // overlong '/'
  CHECK(json_string("\xe0\x80\xaf") == R"("\u00e0\u0080\u00af")");          // overlong 3-byte
  CHECK(json_string("\xed\xa0\x80") == R"("\u00ed\u00a0\u0080")");          // surrogate U+D800
  CHECK(json_string("\xf4\x90\x80\x80") == R"("\u00f4\u0090\u0080\u0080")"); // above U+10FFFF
  CHECK(json_string("\xf5\x80") == R"("\u00f5\u0080")");
  CHECK(json_string("\xe2\x82") == R"("\u00e2\u0082")");                    // truncated 3-byte
}

TEST_CASE("json object builder", "[json]") {
  shmcast::cli::JsonObject o;
  o.field("a", std::uint64_t{1}).field("b", "x\"").field("c", true);
  CHECK(o.str() == R"({"a":1,"b":"x\"","c":true})");
  CHECK(shmcast::cli::JsonObject().str() == "{}");
}
