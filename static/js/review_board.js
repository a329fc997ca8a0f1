// Review board charts, drawn with the vendored ECharts from the JSON embedded in the page.
(function () {
  const node = document.getElementById("board-data");
  if (!node) return;
  const data = JSON.parse(node.textContent);
  const colours = ["#0dcaf0", "#0d6efd", "#198754", "#6c757d", "#adb5bd", "#dc3545"];
  const draw = window.drawChart; // static/js/charts.js
  draw("chart-status", {
    tooltip: {}, grid: { left: 10, right: 20, top: 10, bottom: 20, containLabel: true },
    xAxis: { type: "value", minInterval: 1 }, yAxis: { type: "category", data: data.labels, inverse: true },
    series: [{ type: "bar", name: data.name, label: { show: true, position: "right" },
      data: data.values.map((v, i) => ({ value: v, itemStyle: { color: colours[i] } })) }],
  });
  draw("chart-panels", {
    tooltip: { trigger: "axis" }, legend: { top: 0 }, grid: { left: 10, right: 20, top: 30, bottom: 10, containLabel: true },
    xAxis: { type: "category", data: data.submissions, axisLabel: { rotate: 45 } },
    yAxis: { type: "value", minInterval: 1 },
    series: data.series.map(([name, values], i) => ({
      type: "bar", stack: "panel", name: name, data: values, itemStyle: { color: colours[i] } })),
  });
})();
