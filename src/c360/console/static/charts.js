// Draw every <div class="chart" data-figure="…"> with the vendored Plotly (no CDN).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("div.chart[data-figure]").forEach(function (el) {
    var fig = JSON.parse(el.getAttribute("data-figure"));
    window.Plotly.newPlot(el, fig.data, fig.layout, {displaylogo: false, responsive: true});
    el.setAttribute("data-rendered", "true");
  });
});
