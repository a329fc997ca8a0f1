// Review-round proposal charts: expert load histogram and per-panel affinity (vendored ECharts).
(function () {
  const data = JSON.parse(document.getElementById("round-data").textContent);
  const draw = window.drawChart; // static/js/charts.js
  draw("chart-load", {
    tooltip: {},
    grid: { left: 10, right: 20, bottom: 30, containLabel: true },
    xAxis: { type: "category", name: data.labels.reviews, nameLocation: "middle", nameGap: 28, data: data.histogram.map((_, i) => String(i)) },
    yAxis: { type: "value", name: data.labels.experts },
    series: [{ type: "bar", data: data.histogram }],
  });
  const sorted = [...data.affinity].sort((a, b) => a - b);
  draw("chart-affinity", {
    tooltip: {},
    grid: { left: 10, right: 20, bottom: 30, containLabel: true },
    xAxis: { type: "category", name: data.labels.panels, nameLocation: "middle", nameGap: 28, data: sorted.map((_, i) => String(i + 1)) },
    yAxis: { type: "value", name: data.labels.affinity },
    series: [{ type: "bar", data: sorted }],
  });
})();
