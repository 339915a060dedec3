// The load-test HTML report from a real run against an ingest-sink of
// limited capacity: it renders in headless Chromium without console errors
// and to a picture that is not blank, it fetches nothing, never shows the
// key, and its charts plot the JSON report's numbers.
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "rapidjson/document.h"
#include "tests/support/test_util.h"

namespace nf2::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kChromium[] = "/usr/bin/chromium";

struct Image {
  uint32_t width = 0, height = 0;
  std::vector<uint8_t> rgba;  // width * height * 4
};

uint32_t BigEndian32(const std::string& s, size_t at) {
  return (uint32_t{static_cast<uint8_t>(s[at])} << 24) |
         (uint32_t{static_cast<uint8_t>(s[at + 1])} << 16) |
         (uint32_t{static_cast<uint8_t>(s[at + 2])} << 8) | static_cast<uint8_t>(s[at + 3]);
}

uint8_t Paeth(int a, int b, int c) {
  const int p = a + b - c;
  const int pa = std::abs(p - a), pb = std::abs(p - b), pc = std::abs(p - c);
  return static_cast<uint8_t>(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
}

// Undoes the PNG row filters in place (8-bit samples, `bpp` bytes a pixel).
bool Unfilter(std::vector<uint8_t>& raw, uint32_t width, uint32_t height, size_t bpp,
              std::vector<uint8_t>* out) {
  const size_t stride = width * bpp;
  if (raw.size() < (stride + 1) * height) return false;
  out->assign(stride * height, 0);
  for (uint32_t y = 0; y < height; ++y) {
    const uint8_t filter = raw[y * (stride + 1)];
    const uint8_t* in = &raw[y * (stride + 1) + 1];
    uint8_t* row = &(*out)[y * stride];
    const uint8_t* up = y > 0 ? &(*out)[(y - 1) * stride] : nullptr;
    for (size_t i = 0; i < stride; ++i) {
      const int a = i >= bpp ? row[i - bpp] : 0, b = up ? up[i] : 0;
      const int c = (up && i >= bpp) ? up[i - bpp] : 0;
      const int pred = filter == 1   ? a
                       : filter == 2 ? b
                       : filter == 3 ? (a + b) / 2
                       : filter == 4 ? Paeth(a, b, c)
                                     : 0;
      row[i] = static_cast<uint8_t>(in[i] + pred);
    }
  }
  return true;
}

// A minimal PNG reader for Chromium's screenshots: 8-bit RGB or RGBA, not interlaced.
std::optional<Image> DecodePng(const std::string& png) {
  if (png.size() < 33 || png.compare(1, 3, "PNG") != 0) return std::nullopt;
  Image img;
  std::string idat;
  uint8_t color_type = 0;
  for (size_t at = 8; at + 8 <= png.size();) {
    const uint32_t len = BigEndian32(png, at);
    const std::string type = png.substr(at + 4, 4);
    if (type == "IHDR") {
      img.width = BigEndian32(png, at + 8);
      img.height = BigEndian32(png, at + 12);
      color_type = static_cast<uint8_t>(png[at + 17]);
      if (png[at + 16] != 8 || png[at + 20] != 0) return std::nullopt;
    } else if (type == "IDAT") {
      idat.append(png, at + 8, len);
    }
    at += 12 + len;
  }
  const size_t bpp = color_type == 6 ? 4 : color_type == 2 ? 3 : 0;
  if (bpp == 0 || img.width == 0) return std::nullopt;
  std::vector<uint8_t> raw((img.width * bpp + 1) * img.height);
  uLongf raw_len = raw.size();
  if (uncompress(raw.data(), &raw_len, reinterpret_cast<const Bytef*>(idat.data()), idat.size()) !=
      Z_OK) {
    return std::nullopt;
  }
  std::vector<uint8_t> pixels;
  if (!Unfilter(raw, img.width, img.height, bpp, &pixels)) return std::nullopt;
  img.rgba.reserve(size_t{img.width} * img.height * 4);
  for (size_t i = 0; i < pixels.size(); i += bpp) {
    img.rgba.insert(img.rgba.end(), {pixels[i], pixels[i + 1], pixels[i + 2], 255});
  }
  return img;
}

// Renders `html_path` with headless Chromium; returns the screenshot and
// Chromium's log.
std::pair<std::string, std::string> Screenshot(const std::string& html_path,
                                               const std::string& dir) {
  const std::string png = dir + "/report.png";
  SpawnOptions opts;
  opts.argv = {kChromium,
               "--headless",
               "--no-sandbox",
               "--disable-gpu",
               "--disable-quic",
               "--no-first-run",
               "--disable-background-networking",
               "--disable-component-update",
               "--disable-sync",
               "--user-data-dir=" + dir + "/chromium",
               "--enable-logging=stderr",
               "--v=0",
               "--window-size=1100,2400",
               "--screenshot=" + png,
               "file://" + html_path};
  opts.stdout_path = dir + "/chromium.out";
  opts.stderr_path = dir + "/chromium.err";
  Process chromium(opts);
  const auto code = chromium.Wait(std::chrono::seconds(90));
  EXPECT_EQ(code, 0) << ReadFile(opts.stderr_path);
  return {ReadFile(png), ReadFile(opts.stderr_path)};
}

std::vector<double> Plotted(const std::string& html, const std::string& series) {
  const std::regex re("data-series=\"" + series + "\" data-values=\"([^\"]*)\"");
  std::smatch m;
  std::vector<double> out;
  if (!std::regex_search(html, m, re)) return out;
  const std::string values = m[1];
  for (size_t pos = 0; pos < values.size();) {
    size_t comma = values.find(',', pos);
    if (comma == std::string::npos) comma = values.size();
    out.push_back(std::stod(values.substr(pos, comma - pos)));
    pos = comma + 1;
  }
  return out;
}

TEST(ReportHtml, ARampAgainstALimitedApiRendersAndMatchesTheJson) {
  ASSERT_EQ(access(kChromium, X_OK), 0) << kChromium << " missing (scripts/install-deps.sh)";
  // 4 requests at a time, 20 ms each: about 200 requests/s, so the ramp's
  // later steps meet 503s and rising latency.
  Sink sink({"--capacity", "4", "--latency-ms", "20", "--retry-after", "0"},
            {{"KEY", "s3cr3t-k3y"}});
  const std::string dir = TempDir();
  const std::string json_path = dir + "/report.json", html_path = dir + "/report.html";
  auto env = EnvFor(sink);
  env["KEY"] = "s3cr3t-k3y";
  RunResult r = RunNf2ingest(
      {"--generate=4000", "--duration=2", "--ramp=4", "--batch-size=50", "--flush-interval=0.2",
       "--max-in-flight=16", "--report=" + json_path, "--report-html=" + html_path},
      env);
  ASSERT_THAT(r.exit_code, ::testing::AnyOf(0, 3)) << r.stderr_text;
  const std::string html = ReadFile(html_path);
  ASSERT_THAT(html, HasSubstr("<svg"));
  EXPECT_THAT(html, Not(HasSubstr("s3cr3t-k3y")));
  EXPECT_THAT(html, Not(HasSubstr("src=")));
  EXPECT_THAT(html, Not(HasSubstr("href=")));
  EXPECT_THAT(html, HasSubstr("Highest rate that held"));

  rapidjson::Document json;
  json.Parse(ReadFile(json_path).c_str());
  ASSERT_FALSE(json.HasParseError());
  ASSERT_TRUE(json.HasMember("timeline") && json.HasMember("latency_windows"));
  const auto& tl = json["timeline"];
  for (const char* series : {"offered", "delivered"}) {
    const auto plotted = Plotted(html, series);
    ASSERT_EQ(plotted.size(), tl[series].Size()) << series;
    for (rapidjson::SizeType i = 0; i < tl[series].Size(); ++i) {
      EXPECT_NEAR(plotted[i], tl[series][i].GetDouble() / tl["width_s"][i].GetDouble(),
                  1e-3 * (1 + plotted[i]))
          << series << " point " << i;
    }
  }
  const auto p99 = Plotted(html, "p99");
  size_t with_requests = 0;
  for (const auto& w : json["latency_windows"].GetArray()) {
    if (w["requests"].GetUint64() == 0) continue;
    ASSERT_LT(with_requests, p99.size());
    EXPECT_NEAR(p99[with_requests++], w["latency_ms"]["p99"].GetDouble(), 1e-3);
  }
  EXPECT_EQ(with_requests, p99.size());

  const auto [png, log] = Screenshot(html_path, dir);
  EXPECT_THAT(log, Not(HasSubstr(":CONSOLE"))) << "console messages while rendering";
  const auto image = DecodePng(png);
  ASSERT_TRUE(image.has_value()) << "no readable screenshot";
  // Not blank: many pixels differ from the page background, in several colours.
  size_t inked = 0;
  std::set<uint32_t> colours;
  for (size_t i = 0; i < image->rgba.size(); i += 4) {
    const uint32_t c =
        (uint32_t{image->rgba[i]} << 16) | (uint32_t{image->rgba[i + 1]} << 8) | image->rgba[i + 2];
    if (c != 0xffffff) ++inked;
    if (colours.size() < 64) colours.insert(c);
  }
  EXPECT_GT(inked, image->rgba.size() / 4 / 100) << "screenshot is (nearly) blank";
  EXPECT_GT(colours.size(), 8u);
}

}  // namespace
}  // namespace nf2::testing
