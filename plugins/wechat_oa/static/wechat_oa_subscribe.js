// The subscribe page (订阅通知): configure WeChat's JS-SDK with the server-signed wx.config, then WeChat renders
// the <wx-open-subscribe> button; the user's answer reaches the server through the callback
// (subscribe_msg_popup_event), which is what counts — this script only tells the user what happened.
(function () {
  "use strict";
  var box = document.getElementById("wechat-subscribe");
  if (!box || !window.wx) { return; }
  var config = JSON.parse(box.getAttribute("data-config"));
  window.wx.config({debug: false, appId: config.appId, timestamp: config.timestamp, nonceStr: config.nonceStr,
                    signature: config.signature, jsApiList: ["checkJsApi"], openTagList: ["wx-open-subscribe"]});
  var button = document.getElementById("subscribe-btn");
  var done = document.getElementById("subscribe-done");
  var failed = document.getElementById("subscribe-failed");
  if (!button) { return; }
  button.addEventListener("success", function () { done.hidden = false; });
  button.addEventListener("error", function () { failed.hidden = false; });
})();
