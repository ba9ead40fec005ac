// The lead board's drag and drop (CSP: no inline scripts). A card dropped on another column is posted to the
// lead's move URL; the server decides (forward moves only; won and lost need the lead's page) and a refusal is
// shown in the board's message area. Without JavaScript, or by keyboard, the lead page's forms do the same.
(function () {
  var board = document.querySelector("[data-board]");
  if (!board || !window.fetch) { return; }
  var token = board.getAttribute("data-csrf");
  var message = document.querySelector("[data-board-message]");
  var dragged = null;

  function show(text, ok) {
    if (!message) { return; }
    message.textContent = text;
    message.className = "alert py-2 small " + (ok ? "alert-success" : "alert-danger");
    message.hidden = false;
  }

  function recount() {
    board.querySelectorAll("[data-step]").forEach(function (column) {
      var badge = column.querySelector("[data-count]");
      if (badge) { badge.textContent = column.querySelectorAll("[data-move-url]").length; }
    });
  }

  board.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest("[data-move-url]");
    if (!card) { return; }
    dragged = card;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", card.getAttribute("data-move-url"));
    card.classList.add("opacity-50");
  });
  board.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("opacity-50"); }
    board.querySelectorAll(".drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
  });
  board.addEventListener("dragover", function (event) {
    var column = event.target.closest && event.target.closest("[data-step]");
    if (column && dragged) {
      event.preventDefault();
      column.classList.add("drop-target");
    }
  });
  board.addEventListener("dragleave", function (event) {
    var column = event.target.closest && event.target.closest("[data-step]");
    if (column && !column.contains(event.relatedTarget)) { column.classList.remove("drop-target"); }
  });
  board.addEventListener("drop", function (event) {
    var column = event.target.closest && event.target.closest("[data-step]");
    if (!column || !dragged) { return; }
    event.preventDefault();
    column.classList.remove("drop-target");
    var card = dragged;
    if (card.closest("[data-step]") === column) { return; }
    var body = new FormData();
    body.append("csrf_token", token);
    body.append("step", column.getAttribute("data-step"));
    fetch(card.getAttribute("data-move-url"), {method: "POST", body: body, credentials: "same-origin",
                                                headers: {"Accept": "application/json"}})
      .then(function (response) { return response.json().then(function (data) { return [response.ok, data]; }); })
      .then(function (result) {
        if (result[0] && result[1].ok) {
          var list = column.querySelector("[data-cards]");
          var empty = list.querySelector("[data-empty]");
          if (empty) { empty.remove(); }
          list.appendChild(card);
          var badge = card.querySelector("[data-step-label]");
          if (badge) { badge.textContent = column.getAttribute("data-step-name"); }
          recount();
          show(board.getAttribute("data-moved"), true);
        } else {
          show(result[1].message || board.getAttribute("data-refused"), false);
        }
      })
      .catch(function () { show(board.getAttribute("data-refused"), false); });
  });
})();
