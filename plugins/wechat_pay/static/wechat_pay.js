// WeChat Pay pages: start the JSAPI payment inside WeChat, and follow the payment's status until WeChat Pay's
// notification has been applied (the page never decides on its own that money arrived).
(function () {
  "use strict";
  var box = document.querySelector("[data-poll-url]");
  if (box) {
    var timer = setInterval(function () {
      fetch(box.getAttribute("data-poll-url"), {credentials: "same-origin"})
        .then(function (r) { return r.json(); })
        .then(function (d) {
          if (d.status !== "created") {
            clearInterval(timer);
            location.reload();
          }
        })
        .catch(function () {});
    }, 2000);
  }
  var pay = document.getElementById("wechat-jsapi");
  if (!pay) { return; }
  var params = JSON.parse(pay.getAttribute("data-params"));
  function invoke() {
    window.WeixinJSBridge.invoke("getBrandWCPayRequest", params, function (res) {
      var note = document.getElementById("wechat-jsapi-note");
      if (note && res && res.err_msg === "get_brand_wcpay_request:cancel") {
        note.hidden = false;
      }
    });
  }
  function start() {
    if (window.WeixinJSBridge) { invoke(); }
    else { document.addEventListener("WeixinJSBridgeReady", invoke, false); }
  }
  pay.addEventListener("click", start);
  start();
})();
