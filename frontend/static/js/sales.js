// Sales pages (CSP: no inline scripts). The share page's signature box and optional lines; copy buttons.
(function () {
  document.addEventListener("click", function (event) {
    var el = event.target.closest && event.target.closest("[data-copy-value]");
    if (el && navigator.clipboard) {
      navigator.clipboard.writeText(document.querySelector(el.getAttribute("data-copy-value")).value);
    }
    var printer = event.target.closest && event.target.closest("[data-print]");
    if (printer) { window.print(); }
  });

  var canvas = document.querySelector("canvas[data-signature]");
  if (canvas && window.SignaturePad) {
    var pad = new window.SignaturePad(canvas, {penColor: "#1a1a6e"});
    var resize = function () {
      // draw at the device's pixel density, so the signature is sharp on phones
      var ratio = Math.max(window.devicePixelRatio || 1, 1);
      var data = pad.toData();
      canvas.width = canvas.offsetWidth * ratio;
      canvas.height = canvas.offsetHeight * ratio;
      canvas.getContext("2d").scale(ratio, ratio);
      pad.clear();
      pad.fromData(data);
    };
    window.addEventListener("resize", resize);
    resize();
    var field = document.querySelector(canvas.getAttribute("data-signature"));
    var clear = document.querySelector("[data-signature-clear]");
    if (clear) { clear.addEventListener("click", function () { pad.clear(); field.value = ""; }); }
    pad.addEventListener("endStroke", function () { field.value = pad.toDataURL("image/png"); });
    canvas.closest("form").addEventListener("submit", function () {
      field.value = pad.isEmpty() ? "" : pad.toDataURL("image/png");
    });
  }

  // the total with the optional lines the customer ticks (cents, so no float drift)
  var totalEl = document.querySelector("[data-choice-total]");
  if (totalEl) {
    var update = function () {
      var cents = parseInt(totalEl.getAttribute("data-base-cents"), 10);
      document.querySelectorAll("input[data-line-cents]").forEach(function (box) {
        if (box.checked) { cents += parseInt(box.getAttribute("data-line-cents"), 10); }
      });
      totalEl.textContent = "¥" + (cents / 100).toLocaleString("zh-CN", {minimumFractionDigits: 2, maximumFractionDigits: 2});
    };
    document.addEventListener("change", function (event) {
      if (event.target.matches && event.target.matches("input[data-line-cents]")) { update(); }
    });
    update();
  }
})();
