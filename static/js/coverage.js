// Coverage dashboard charts, drawn with the vendored ECharts from the JSON embedded in the page.
(function () {
  const data = JSON.parse(document.getElementById("coverage-data").textContent);
  const max = Math.max(1, ...data.cells.map((c) => c[2]));
  const draw = (id, option) => {
    const chart = echarts.init(document.getElementById(id));
    chart.setOption(option);
    window.addEventListener("resize", () => chart.resize());
  };
  draw("chart-heatmap", {
    tooltip: { position: "top", formatter: (p) => `${data.categories[p.value[1]]} · ${data.provinces[p.value[0]]}: ${p.value[2]}` },
    grid: { left: 200, right: 20, bottom: 150, top: 10 },
    xAxis: { type: "category", data: data.provinces, axisLabel: { rotate: 60 }, splitArea: { show: true } },
    yAxis: { type: "category", data: data.categories, splitArea: { show: true } },
    visualMap: { min: 0, max: max, calculable: true, orient: "horizontal", left: "center", bottom: 0 },
    series: [{ type: "heatmap", data: data.cells, label: { show: true } }],
  });
  draw("chart-categories", {
    tooltip: {}, grid: { left: 200, right: 20 },
    xAxis: { type: "value" }, yAxis: { type: "category", data: data.categories },
    series: [{ type: "bar", name: data.labels.experts, data: data.perCategory.map((v) => ({ value: v, itemStyle: { color: v < data.minimum ? "#dc3545" : "#0d6efd" } })),
      markLine: { data: [{ xAxis: data.minimum, name: data.labels.minimum }], label: { formatter: data.labels.minimum } } }],
  });
  draw("chart-status", { tooltip: { trigger: "item" }, series: [{ type: "pie", radius: ["35%", "70%"], data: data.status }] });
  draw("chart-titles", { tooltip: { trigger: "item" }, series: [{ type: "pie", radius: "70%", data: data.titles }] });
  draw("chart-ages", { tooltip: {}, xAxis: { type: "category", data: data.ages.labels }, yAxis: { type: "value" },
    series: [{ type: "bar", data: data.ages.values }] });
})();
