// Draws every history chart on the page from the figure dicts the server embedded (json_script), each sized to its
// box: no fixed width, responsive to the window, and redrawn when the box itself changes width.
document.querySelectorAll("[data-figure]").forEach(function (element) {
  var source = document.getElementById(element.dataset.figure);
  if (!source || !window.Plotly) return;
  var figure = JSON.parse(source.textContent);
  var layout = Object.assign({}, figure.layout, { autosize: true });
  delete layout.width;
  window.Plotly.newPlot(element, figure.data, layout, { responsive: true, displayModeBar: false });
  if (window.ResizeObserver) {
    var width = element.clientWidth;
    new ResizeObserver(function () {
      if (element.clientWidth === width) return;
      width = element.clientWidth;
      window.Plotly.Plots.resize(element);
    }).observe(element);
  }
});
