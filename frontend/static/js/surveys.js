// The public survey page's conditional questions (CSP: no inline scripts). A question with data-condition
// ({"question", "op": eq|ne|le|ge|in, "value"}) is shown only while the answer to that earlier question meets it,
// with the rules of surveys/services.py `condition_met`: a condition on an unanswered or hidden question is not met.
// Without JavaScript every question stays on the page and the server keeps only the answers the conditions show.
(function () {
  var form = document.querySelector("[data-testid=survey-form]");
  if (!form) { return; }
  var questions = Array.prototype.slice.call(form.querySelectorAll("[data-question]"));

  function answerOf(question) {
    var picked = question.querySelector("input[type=radio]:checked");
    if (!picked) { return null; }
    return question.getAttribute("data-kind") === "score" ? parseInt(picked.value, 10) : picked.value;
  }

  function met(condition, given) {
    var answer = given[condition.question];
    if (answer === undefined || answer === null) { return false; }
    var value = condition.value;
    switch (condition.op) {
      case "in": return (Array.isArray(value) ? value : [value]).indexOf(answer) !== -1;
      case "eq": return answer === value;
      case "ne": return answer !== value;
      case "le": return typeof answer === "number" && answer <= value;
      case "ge": return typeof answer === "number" && answer >= value;
      default: return false;
    }
  }

  function update() {
    var given = {};
    questions.forEach(function (question) {
      var raw = question.getAttribute("data-condition");
      var shown = true;
      if (raw) {
        try { shown = met(JSON.parse(raw), given); } catch (e) { shown = true; }
      }
      question.hidden = !shown;
      if (shown) {
        var answer = answerOf(question);
        if (answer !== null) { given[question.getAttribute("data-question")] = answer; }
      }
    });
  }

  // the hint "only if it applies" is for pages without JavaScript: here the question appears when it applies
  form.querySelectorAll("[data-condition-hint]").forEach(function (hint) { hint.hidden = true; });
  form.addEventListener("change", update);
  update();
}());
