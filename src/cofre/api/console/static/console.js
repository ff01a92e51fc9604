// Cofre console: the little script the pages use. Served by Cofre; no inline script.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  // Forms that destroy something ask first.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });
  // JSON editors: say at once whether the document parses (the server still decides).
  document.querySelectorAll("form[data-json-editor]").forEach(function (form) {
    var area = form.querySelector("textarea");
    var hint = form.querySelector(".hint");
    if (!area || !hint) { return; }
    var check = function () {
      try {
        JSON.parse(area.value);
        hint.textContent = "";
      } catch (error) {
        hint.textContent = "This is not valid JSON yet: " + error.message;
      }
    };
    area.addEventListener("input", check);
  });
  // Copy buttons (the new secret access key).
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var target = document.getElementById(button.getAttribute("data-copy"));
      if (target && navigator.clipboard) {
        navigator.clipboard.writeText(target.textContent || "");
        button.textContent = "Copied";
      }
    });
  });
});
