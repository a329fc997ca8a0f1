// Training report charts, drawn with the vendored ECharts from the JSON embedded in the page.
(function () {
  const data = JSON.parse(document.getElementById("training-report-data").textContent);
  const draw = window.drawChart; // static/js/charts.js
  draw("chart-months", {
    tooltip: { trigger: "axis" }, legend: {},
    xAxis: { type: "category", data: data.months }, yAxis: { type: "value", minInterval: 1 },
    series: [
      { type: "bar", name: data.labels.enrolments, data: data.enrolments },
      { type: "line", name: data.labels.completions, data: data.completions },
    ],
  });
  draw("chart-audience", {
    tooltip: { trigger: "item", formatter: "{b}: {c} ({d}%)" },
    series: [{ type: "pie", radius: ["35%", "70%"], name: data.labels.hours, data: data.audience }],
  });
  draw("chart-rates", {
    tooltip: { trigger: "axis" }, legend: {}, grid: { left: 260, right: 30 },
    xAxis: { type: "value", max: 100 },
    yAxis: { type: "category", data: data.courses, inverse: true, axisLabel: { width: 240, overflow: "truncate" } },
    series: [
      { type: "bar", name: data.labels.completionRate, data: data.completionRate },
      { type: "bar", name: data.labels.passRate, data: data.passRate },
    ],
  });
  draw("chart-provinces", {
    tooltip: { trigger: "axis" }, grid: { bottom: 80 },
    xAxis: { type: "category", data: data.provinces, axisLabel: { rotate: 45 } }, yAxis: { type: "value" },
    series: [{ type: "bar", name: data.labels.hours, data: data.provinceHours }],
  });
})();
