/* Draws every [data-chart] element with Apache ECharts (vendored). Data comes in the attribute as JSON, so the page
   needs no inline script (CSP script-src 'self'). {type: line|bar|pie|funnel, labels: [...], values: [...], name} */
(function () {
  "use strict";
  function options(spec) {
    var base = {tooltip: {trigger: spec.type === "pie" ? "item" : "axis", confine: true}, animation: false,
                grid: {left: 8, right: 12, top: 16, bottom: 8, containLabel: true}};
    if (spec.type === "pie") {
      /* labels aligned to the chart's edges and wrapped, so none is cut off by a phone-wide card */
      base.series = [{type: "pie", name: spec.name, radius: ["28%", "55%"], avoidLabelOverlap: true,
                      data: spec.labels.map(function (l, i) { return {name: l, value: spec.values[i]}; }),
                      label: {show: true, alignTo: "edge", edgeDistance: 6, overflow: "break", width: 72,
                              minMargin: 4},
                      labelLine: {length: 8, length2: 0, maxSurfaceAngle: 80}}];
      return base;
    }
    if (spec.type === "funnel") {
      /* the vendored common build has no funnel series: stages as bars, widest first, each with its share of the
         first stage, read top to bottom as a funnel is */
      var first = spec.values.length ? spec.values[0] : 0;
      base.tooltip.trigger = "item";
      base.xAxis = {type: "value", show: false};
      base.yAxis = {type: "category", data: spec.labels, inverse: true, axisTick: {show: false},
                    axisLabel: {overflow: "truncate", width: 90}};
      base.series = [{type: "bar", name: spec.name, data: spec.values, barMaxWidth: 28,
                      label: {show: true, position: "right", formatter: function (p) {
                        return first ? p.value + " · " + Math.round(p.value * 100 / first) + "%" : p.value; }}}];
      base.grid.right = 72;
      return base;
    }
    if (spec.type === "bar") {
      /* categories (stores, reasons, people) as horizontal bars: every label stays readable on a phone, where
         labels under vertical bars were dropped for lack of room */
      base.xAxis = {type: "value", minInterval: 1};
      base.yAxis = {type: "category", data: spec.labels, inverse: true, axisTick: {show: false},
                    axisLabel: {interval: 0, overflow: "truncate", width: 96}};
      base.series = [{type: "bar", name: spec.name, data: spec.values, barMaxWidth: 24,
                      label: {show: true, position: "right"}}];
      base.grid.right = 40;
      return base;
    }
    base.xAxis = {type: "category", data: spec.labels, axisLabel: {hideOverlap: true}};
    base.yAxis = {type: "value", minInterval: 1};
    base.series = [{type: spec.type, name: spec.name, data: spec.values, smooth: false, showSymbol: true, symbolSize: 5,
                    connectNulls: true, barMaxWidth: 36}];
    return base;
  }
  function draw(root) {
    if (!window.echarts) { return; }
    (root || document).querySelectorAll("[data-chart]").forEach(function (el) {
      if (el.dataset.drawn) { return; }
      var chart = window.echarts.init(el, null, {renderer: "canvas"});
      chart.setOption(options(JSON.parse(el.dataset.chart)));
      el.dataset.drawn = "1";
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }
  document.addEventListener("DOMContentLoaded", function () { draw(document); });
  document.addEventListener("htmx:afterSwap", function (e) { draw(e.target); });
})();
