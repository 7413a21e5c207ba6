// Draws every history chart on the page from the figure dicts the server embedded (json_script).
document.querySelectorAll("[data-figure]").forEach(function (element) {
  var source = document.getElementById(element.dataset.figure);
  if (!source || !window.Plotly) return;
  var figure = JSON.parse(source.textContent);
  window.Plotly.newPlot(element, figure.data, figure.layout, { responsive: true, displayModeBar: false });
});
