// Small behaviours; CSP forbids inline scripts, so they live here.
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el.matches && el.matches("[data-autosubmit]")) { el.form.submit(); }
});
// Phone numbers (macros/phone.html): the copy button puts the number on the clipboard and shows a tick.
document.addEventListener("click", function (event) {
  var button = event.target.closest && event.target.closest("[data-copy-text]");
  if (!button || !navigator.clipboard) { return; }
  navigator.clipboard.writeText(button.getAttribute("data-copy-text")).then(function () {
    var icon = button.querySelector("i");
    if (icon) { icon.className = "bi bi-check2"; setTimeout(function () { icon.className = "bi bi-copy"; }, 1500); }
  });
});
document.addEventListener("click", function (event) {
  var el = event.target.closest && event.target.closest("[data-copy]");
  if (el && navigator.clipboard) {
    navigator.clipboard.writeText(document.querySelector(el.getAttribute("data-copy")).textContent.trim());
  }
});
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el.matches && el.matches("[data-select-all]")) {
    var name = el.getAttribute("data-select-all");
    el.closest("form").querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (box) { box.checked = el.checked; });
  }
});
// Editors (automation rules): an element with data-show-for="name:v1,v2" shows only while the control called
// `name` in its data-switch-scope (or the page) holds one of the values.
function storecrmSwitches() {
  document.querySelectorAll("[data-show-for]").forEach(function (el) {
    var spec = el.getAttribute("data-show-for").split(":");
    var scope = el.closest("[data-switch-scope]") || document;
    var control = scope.querySelector('[name="' + spec[0] + '"]');
    if (control) { el.hidden = spec[1].split(",").indexOf(control.value) < 0; }
  });
}
document.addEventListener("change", function (event) {
  if (event.target.matches && event.target.matches("[data-switch]")) { storecrmSwitches(); }
});
document.addEventListener("DOMContentLoaded", storecrmSwitches);
// Signup: say whether the workspace address is free while it is typed.
(function () {
  var input = document.querySelector("[data-slug-check]");
  if (!input) { return; }
  var status = document.querySelector("[data-slug-status]");
  var timer = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () {
      if (input.value.length < 2) { return; }
      fetch(input.getAttribute("data-slug-check") + "?slug=" + encodeURIComponent(input.value), {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (answer) {
          status.textContent = answer.available ? "✓ " + input.value : answer.reason;
          status.className = answer.available ? "form-text text-success" : "form-text text-danger";
        });
    }, 300);
  });
})();
