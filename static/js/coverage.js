// Coverage dashboard charts, drawn with the vendored ECharts from the JSON embedded in the page.
(function () {
  const data = JSON.parse(document.getElementById("coverage-data").textContent);
  const max = Math.max(1, ...data.cells.map((c) => c[2]));
  const draw = window.drawChart; // static/js/charts.js
  // English category names are long: the grids size themselves to their labels (containLabel)
  // and long labels wrap at a fixed width instead of running off the canvas.
  const wrapped = { width: 180, overflow: "break", lineHeight: 14 };
  draw("chart-heatmap", {
    tooltip: { position: "top", formatter: (p) => `${data.categories[p.value[1]]} · ${data.provinces[p.value[0]]}: ${p.value[2]}` },
    grid: { left: 10, right: 20, bottom: 70, top: 10, containLabel: true },
    xAxis: { type: "category", data: data.provinces, axisLabel: { rotate: 60, interval: 0 }, splitArea: { show: true } },
    yAxis: { type: "category", data: data.categories, axisLabel: { ...wrapped, interval: 0 }, splitArea: { show: true } },
    visualMap: { min: 0, max: max, calculable: true, orient: "horizontal", left: "center", bottom: 0 },
    series: [{ type: "heatmap", data: data.cells, label: { show: true } }],
  });
  draw("chart-categories", {
    tooltip: {}, grid: { left: 10, right: 40, containLabel: true },
    xAxis: { type: "value" }, yAxis: { type: "category", data: data.categories, axisLabel: { ...wrapped, interval: 0 } },
    series: [{ type: "bar", name: data.labels.experts, data: data.perCategory.map((v) => ({ value: v, itemStyle: { color: v < data.minimum ? "#dc3545" : "#0d6efd" } })),
      markLine: { data: [{ xAxis: data.minimum, name: data.labels.minimum }], label: { formatter: data.labels.minimum } } }],
  });
  draw("chart-status", { tooltip: { trigger: "item" }, series: [{ type: "pie", radius: ["35%", "65%"], data: data.status, label: { width: 110, overflow: "break" } }] });
  draw("chart-titles", { tooltip: { trigger: "item" }, series: [{ type: "pie", radius: "65%", data: data.titles, label: { width: 110, overflow: "break" } }] });
  draw("chart-ages", { tooltip: {}, grid: { containLabel: true, left: 10, right: 20 }, xAxis: { type: "category", data: data.ages.labels }, yAxis: { type: "value" },
    series: [{ type: "bar", data: data.ages.values }] });
})();
