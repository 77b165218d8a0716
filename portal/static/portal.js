// The portal's own script (no inline script: the Content-Security-Policy allows 'self' only).
(function () {
  "use strict";
  // 身份证号 (GB 11643-1999): the 18th character is the ISO 7064 MOD 11-2 check of the first 17.
  var WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  var CHECKS = "10X98765432";
  function residentIdProblem(value) {
    var v = value.trim().toUpperCase();
    if (!v) return "";
    if (!/^\d{0,17}[\dX]?$/.test(v)) return document.documentElement.lang === "en" ? "Digits only (the last may be X)" : "只能是数字，最后一位可以是 X";
    if (v.length < 18) return (document.documentElement.lang === "en" ? "18 characters: " : "应为 18 位，已输入 ") + v.length;
    var sum = 0;
    for (var i = 0; i < 17; i++) sum += parseInt(v.charAt(i), 10) * WEIGHTS[i];
    if (CHECKS.charAt(sum % 11) !== v.charAt(17)) return document.documentElement.lang === "en" ? "The check digit does not match" : "校验位不正确，请核对身份证号";
    return null;
  }
  function watchResidentIds(root) {
    root.querySelectorAll("input[data-resident-id]").forEach(function (input) {
      if (input.dataset.watched) return;
      input.dataset.watched = "1";
      var note = document.getElementById(input.id + "-check");
      var check = function () {
        var problem = residentIdProblem(input.value);
        input.setAttribute("aria-invalid", problem ? "true" : "false");
        input.setCustomValidity(problem && input.value.trim().length >= 18 ? problem : "");
        if (note) {
          note.textContent = problem === null ? (document.documentElement.lang === "en" ? "Check digit correct" : "校验位正确") : problem;
          note.className = problem === null ? "hint id-ok" : (problem ? "error" : "hint");
        }
      };
      input.addEventListener("input", check);
      if (input.value) check();
    });
  }
  // Irreversible actions ask first: <form data-confirm="...">.
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute && event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  }, true);
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("button[data-confirm]");
    if (button && !window.confirm(button.getAttribute("data-confirm"))) event.preventDefault();
  }, true);
  // "Select all" of a bulk form.
  document.addEventListener("change", function (event) {
    var all = event.target;
    if (!all.matches || !all.matches("input[data-select-all]")) return;
    document.querySelectorAll("input[name='" + all.getAttribute("data-select-all") + "']").forEach(function (box) { box.checked = all.checked; });
  });
  // Auto-submit selects (the campaign switcher, the language).
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches("select[data-autosubmit]")) event.target.form.submit();
  });
  document.addEventListener("DOMContentLoaded", function () { watchResidentIds(document); });
  document.addEventListener("htmx:afterSwap", function (event) { watchResidentIds(event.target); });
  // htmx sends the CSRF token with every request it makes.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = document.querySelector("meta[name='csrf-token']");
    if (token) event.detail.headers["X-CSRFToken"] = token.content;
  });
})();
