// Birthplace by name: a search box above the INSEE code field; choosing a place writes
// its code into the field (web/birthplaces.py answers). Without script, the code field
// works as before.
(function () {
  "use strict";
  var url = document.currentScript && document.currentScript.getAttribute("data-url");
  function setUp() {
    var code = document.querySelector("input[name=birthplace_code]");
    if (!code || !url) { return; }
    var box = document.createElement("input");
    box.type = "search";
    box.id = "birthplace-search";
    box.setAttribute("list", "birthplace-choices");
    box.setAttribute("aria-label", "Chercher la commune ou le pays de naissance");
    box.placeholder = "Commune ou pays de naissance (ex. Rennes, Maroc)";
    box.autocomplete = "off";
    var list = document.createElement("datalist");
    list.id = "birthplace-choices";
    code.parentNode.insertBefore(box, code);
    code.parentNode.insertBefore(list, code);
    var labels = {};
    var timer = null;
    box.addEventListener("input", function () {
      var picked = labels[box.value];
      if (picked) { code.value = picked; return; }
      clearTimeout(timer);
      timer = setTimeout(function () {
        fetch(url + "?q=" + encodeURIComponent(box.value), {credentials: "same-origin"})
          .then(function (r) { return r.json(); })
          .then(function (data) {
            list.textContent = "";
            labels = {};
            data.results.forEach(function (p) {
              var option = document.createElement("option");
              var text = p.label + " — " + p.code;
              option.value = text;
              labels[text] = p.code;
              list.appendChild(option);
            });
          });
      }, 250);
    });
  }
  document.addEventListener("DOMContentLoaded", setUp);
})();
