// A button that prints the page (a static file: the CSP forbids inline scripts).
document.addEventListener("click", function (event) {
  if (event.target.closest("[data-print]")) { window.print(); }
});
