// Line charts as inline SVG, drawn here so the load-test report is one file
// that needs nothing from the network: no script, no CDN, no fonts.
// Each series' polyline carries the values it plots (data-values), so a
// test can check the picture against the report's numbers.
#ifndef NF2INGEST_TOOLS_NF2INGEST_SVG_CHART_H_
#define NF2INGEST_TOOLS_NF2INGEST_SVG_CHART_H_

#include <string>
#include <vector>

namespace nf2 {

struct ChartSeries {
  std::string name;
  std::string color;  // CSS colour
  std::vector<double> x, y;
  bool dashed = false;
};

struct ChartMarker {  // a vertical line, e.g. where a ramp step starts
  double x = 0;
  std::string label;
};

struct Chart {
  std::string title;
  std::string x_label;
  std::string y_label;
  bool log_y = false;  // values <= 0 are left out of a log chart
  std::vector<ChartSeries> series;
  std::vector<ChartMarker> markers;
};

// An <svg> element (with its legend) for `chart`.
std::string RenderSvgChart(const Chart& chart);

// Escapes text for HTML element content and attribute values.
std::string HtmlEscape(const std::string& text);

}  // namespace nf2

#endif  // NF2INGEST_TOOLS_NF2INGEST_SVG_CHART_H_
