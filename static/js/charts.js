// One way to draw a chart with the vendored ECharts, for every page that has charts: the chart
// follows the window's size, and people who ask their system for reduced motion (and the browser
// tests, which photograph pages) get the finished chart at once instead of an animation.
window.drawChart = (id, option) => {
  const still = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  const chart = window.echarts.init(document.getElementById(id));
  chart.setOption({ animation: !still, ...option });
  window.addEventListener("resize", () => chart.resize());
  return chart;
};
