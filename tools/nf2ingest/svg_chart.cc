#include "tools/nf2ingest/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace nf2 {
namespace {

constexpr double kWidth = 960, kHeight = 300;
constexpr double kLeft = 80, kRight = 20, kTop = 36, kBottom = 48;

struct Range {
  double lo = 0, hi = 1;
};

// Tick values: 1-2-5 steps on a linear axis, powers of ten on a log axis.
std::vector<double> Ticks(Range r, bool log) {
  std::vector<double> ticks;
  if (log) {
    for (double v = std::pow(10, std::floor(std::log10(r.lo))); v <= r.hi * 1.0001; v *= 10) {
      if (v >= r.lo * 0.9999) ticks.push_back(v);
    }
    return ticks;
  }
  const double raw = (r.hi - r.lo) / 5;
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  const double step = raw / mag < 1.5   ? mag
                      : raw / mag < 3.5 ? 2 * mag
                      : raw / mag < 7.5 ? 5 * mag
                                        : 10 * mag;
  for (double v = std::ceil(r.lo / step) * step; v <= r.hi + step * 1e-9; v += step) {
    ticks.push_back(v);
  }
  return ticks;
}

std::string Num(double v) {
  if (v != 0 && (std::fabs(v) >= 1e6 || std::fabs(v) < 1e-3)) return absl::StrFormat("%.3g", v);
  return absl::StrFormat("%.6g", v);
}

struct Frame {
  Range x, y;
  bool log_y = false;
  double X(double v) const {
    return kLeft + (v - x.lo) / (x.hi - x.lo) * (kWidth - kLeft - kRight);
  }
  double Y(double v) const {
    const double f =
        log_y ? (std::log10(v) - std::log10(y.lo)) / (std::log10(y.hi) - std::log10(y.lo))
              : (v - y.lo) / (y.hi - y.lo);
    return kHeight - kBottom - f * (kHeight - kTop - kBottom);
  }
};

bool Plotted(const Chart& c, double y) { return std::isfinite(y) && (!c.log_y || y > 0); }

Frame FrameFor(const Chart& c) {
  Frame f;
  f.log_y = c.log_y;
  double x_lo = std::numeric_limits<double>::max(), x_hi = std::numeric_limits<double>::lowest();
  double y_lo = std::numeric_limits<double>::max(), y_hi = std::numeric_limits<double>::lowest();
  for (const ChartSeries& s : c.series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      x_lo = std::min(x_lo, s.x[i]);
      x_hi = std::max(x_hi, s.x[i]);
      if (!Plotted(c, s.y[i])) continue;
      y_lo = std::min(y_lo, s.y[i]);
      y_hi = std::max(y_hi, s.y[i]);
    }
  }
  for (const ChartMarker& m : c.markers) x_hi = std::max(x_hi, m.x);
  if (x_lo > x_hi) x_lo = 0, x_hi = 1;
  if (y_lo > y_hi) y_lo = c.log_y ? 1 : 0, y_hi = c.log_y ? 10 : 1;
  f.x = {std::min(x_lo, 0.0), x_hi > x_lo ? x_hi : x_lo + 1};
  if (c.log_y) {
    f.y = {std::pow(10, std::floor(std::log10(y_lo))), std::pow(10, std::ceil(std::log10(y_hi)))};
    if (f.y.hi <= f.y.lo) f.y.hi = f.y.lo * 10;
  } else {
    f.y = {0, y_hi > 0 ? y_hi * 1.1 : 1};
  }
  return f;
}

std::string Axes(const Chart& c, const Frame& f) {
  std::string out;
  for (double t : Ticks(f.y, c.log_y)) {
    absl::StrAppendFormat(
        &out,
        "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
        "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>",
        kLeft, f.Y(t), kWidth - kRight, f.Y(t), kLeft - 6, f.Y(t) + 4, Num(t));
  }
  for (double t : Ticks(f.x, false)) {
    absl::StrAppendFormat(
        &out, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>", f.X(t),
        kHeight - kBottom + 16, Num(t));
  }
  absl::StrAppendFormat(&out,
                        "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                        "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>",
                        kLeft, kTop, kLeft, kHeight - kBottom, kLeft, kHeight - kBottom,
                        kWidth - kRight, kHeight - kBottom);
  absl::StrAppendFormat(
      &out,
      "<text class=\"label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>"
      "<text class=\"label\" x=\"14\" y=\"%.1f\" transform=\"rotate(-90 14 %.1f)\" "
      "text-anchor=\"middle\">%s</text>",
      (kLeft + kWidth - kRight) / 2, kHeight - 10, HtmlEscape(c.x_label),
      (kTop + kHeight - kBottom) / 2, (kTop + kHeight - kBottom) / 2, HtmlEscape(c.y_label));
  return out;
}

std::string Markers(const Chart& c, const Frame& f) {
  std::string out;
  for (const ChartMarker& m : c.markers) {
    absl::StrAppendFormat(&out,
                          "<line class=\"marker\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>"
                          "<text class=\"mlabel\" x=\"%.1f\" y=\"%.1f\">%s</text>",
                          f.X(m.x), kTop, f.X(m.x), kHeight - kBottom, f.X(m.x) + 3, kTop + 10,
                          HtmlEscape(m.label));
  }
  return out;
}

std::string Series(const Chart& c, const Frame& f, const ChartSeries& s) {
  std::string points, values;
  for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
    absl::StrAppend(&values, i == 0 ? "" : ",", Num(s.y[i]));
    if (Plotted(c, s.y[i])) absl::StrAppendFormat(&points, "%.1f,%.1f ", f.X(s.x[i]), f.Y(s.y[i]));
  }
  std::string out = absl::StrFormat(
      "<polyline class=\"series\" data-series=\"%s\" data-values=\"%s\" points=\"%s\" "
      "stroke=\"%s\"%s/>",
      HtmlEscape(s.name), values, points, s.color, s.dashed ? " stroke-dasharray=\"6 4\"" : "");
  if (s.x.size() <= 60) {  // few points (ramp steps, short runs): mark each one
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!Plotted(c, s.y[i])) continue;
      absl::StrAppendFormat(&out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>",
                            f.X(s.x[i]), f.Y(s.y[i]), s.color);
    }
  }
  return out;
}

std::string Legend(const Chart& c) {
  std::string out;
  double x = kLeft;
  for (const ChartSeries& s : c.series) {
    absl::StrAppendFormat(&out,
                          "<rect x=\"%.1f\" y=\"22\" width=\"14\" height=\"4\" fill=\"%s\"/>"
                          "<text class=\"legend\" x=\"%.1f\" y=\"28\">%s</text>",
                          x, s.color, x + 18, HtmlEscape(s.name));
    x += 30 + 7.5 * static_cast<double>(s.name.size());
  }
  return out;
}

}  // namespace

std::string HtmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    switch (ch) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

std::string RenderSvgChart(const Chart& chart) {
  const Frame f = FrameFor(chart);
  std::string out = absl::StrFormat(
      "<svg class=\"chart\" viewBox=\"0 0 %.0f %.0f\" role=\"img\" aria-label=\"%s\">"
      "<text class=\"title\" x=\"%.1f\" y=\"14\">%s</text>",
      kWidth, kHeight, HtmlEscape(chart.title), kLeft, HtmlEscape(chart.title));
  absl::StrAppend(&out, Axes(chart, f), Markers(chart, f));
  for (const ChartSeries& s : chart.series) absl::StrAppend(&out, Series(chart, f, s));
  absl::StrAppend(&out, Legend(chart), "</svg>\n");
  return out;
}

}  // namespace nf2
