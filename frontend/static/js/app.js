// Small behaviours; CSP forbids inline scripts, so they live here.
document.addEventListener("change", function (event) {
  var el = event.target;
  if (el.matches && el.matches("[data-autosubmit]")) { el.form.submit(); }
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
