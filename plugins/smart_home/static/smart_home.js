// Smart home pages (CSP: no inline scripts). The check-in form asks the phone for its position and sends it with the
// time; without permission or signal within 8 seconds it checks in without a position.
(function () {
  document.querySelectorAll("form[data-geolocate]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (form.dataset.located || !navigator.geolocation) { return; }
      event.preventDefault();
      // requestSubmit, not submit(): the offline queue listens for the submit event and must see this one too
      var done = function () { form.dataset.located = "1"; if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); } };
      navigator.geolocation.getCurrentPosition(function (pos) {
        form.querySelector("[name=latitude]").value = pos.coords.latitude.toFixed(6);
        form.querySelector("[name=longitude]").value = pos.coords.longitude.toFixed(6);
        done();
      }, done, {enableHighAccuracy: true, timeout: 8000, maximumAge: 60000});
    });
  });
})();
