// podscope: the listening quiz, one question at a time. Without this script the page lists every question.
// Answers are checked by the server (POST /api/episodes/{id}/quiz/answers): the page never holds them.
(function () {
  "use strict";

  // A signed-in browser's changes over the API repeat the page's CSRF token (podscope.web.auth).
  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  var NAME_KEY = "podscope.learner";

  function quizPage() {
    var quiz = document.getElementById("quiz");
    if (!quiz) return;
    var questions = Array.prototype.slice.call(quiz.querySelectorAll(".question"));
    if (!questions.length) return;
    var audio = document.getElementById("quiz-audio");
    var nameField = document.getElementById("learner");
    var counter = document.getElementById("quiz-counter");
    var bar = quiz.querySelector(".quiz-progress");
    var nav = quiz.querySelector(".quiz-nav");
    var next = document.getElementById("quiz-next");
    var summary = document.getElementById("quiz-summary");
    var total = questions.length;
    var index = 0, answered = 0, correct = 0, missed = [];

    quiz.classList.add("js-quiz");
    counter.hidden = false;
    bar.hidden = false;
    nav.hidden = false;

    // -- the learner's name, remembered in this browser --------------------------------------------------------
    try { nameField.value = localStorage.getItem(NAME_KEY) || ""; } catch (e) { /* storage may be off */ }
    nameField.addEventListener("input", function () {
      nameField.classList.remove("invalid");
      try { localStorage.setItem(NAME_KEY, nameField.value.trim()); } catch (e) { /* ignore */ }
    });

    // -- clips: play exactly [start, end] of the episode --------------------------------------------------------
    var playing = null, stopAt = null, frame = 0;

    function stopClip() {
      if (frame) cancelAnimationFrame(frame);
      frame = 0;
      stopAt = null;
      if (playing) playing.classList.remove("playing");
      playing = null;
      if (audio && !audio.paused) audio.pause();
    }

    function watch() {
      frame = 0;
      if (stopAt === null) return;
      if (audio.currentTime >= stopAt || audio.ended) { stopClip(); return; }
      frame = requestAnimationFrame(watch);
    }

    function playClip(button) {
      if (!audio) return;
      if (playing === button) { stopClip(); return; }
      stopClip();
      var start = parseFloat(button.dataset.start), end = parseFloat(button.dataset.end);
      playing = button;
      button.classList.add("playing");
      var go = function () {
        if (playing !== button) return;
        audio.currentTime = start;
        stopAt = end;
        var p = audio.play();
        if (p && p.catch) p.catch(function () { if (playing === button) stopClip(); });
        if (!frame) frame = requestAnimationFrame(watch);
      };
      if (audio.readyState >= 1) go();
      else {
        audio.addEventListener("loadedmetadata", function once() {
          audio.removeEventListener("loadedmetadata", once);
          go();
        });
        audio.load();
      }
    }

    if (audio) {
      audio.addEventListener("timeupdate", function () { if (stopAt !== null && audio.currentTime >= stopAt) stopClip(); });
      audio.addEventListener("ended", stopClip);
      audio.addEventListener("pause", function () { if (audio.paused && stopAt !== null) stopClip(); });
    }

    quiz.addEventListener("click", function (event) {
      var button = event.target.closest("a.quiz-play");
      if (!button || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
      event.preventDefault();
      playClip(button);
    });

    // -- questions -------------------------------------------------------------------------------------------------
    function setCounter() {
      counter.textContent = "Questions: " + answered + "/" + total + " · Correct: " + correct;
      bar.firstElementChild.style.width = (100 * answered / total).toFixed(1) + "%";
    }

    function showQuestion(i) {
      questions.forEach(function (q, j) { q.classList.toggle("current", j === i); });
      next.hidden = true;
      next.textContent = i === total - 1 ? "See your score" : "Next";
    }

    function feedback(question, text, kind) {
      var el = question.querySelector(".feedback");
      el.textContent = text;
      el.className = "feedback" + (kind ? " " + kind : "");
    }

    function answer(question, option) {
      if (question.dataset.done || question.dataset.busy) return;
      var learner = nameField.value.trim();
      if (!learner) {
        nameField.classList.add("invalid");
        nameField.focus();
        feedback(question, "Enter your name first: your answers are kept under it.", "bad");
        return;
      }
      var options = Array.prototype.slice.call(question.querySelectorAll(".option"));
      var chosen = parseInt(option.dataset.index, 10);
      question.dataset.busy = "1";
      options.forEach(function (o) { o.disabled = true; });
      option.classList.add("chosen");
      feedback(question, "Checking…", "");
      fetch(quiz.dataset.answers, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrfToken() },
        body: JSON.stringify({
          learner: learner,
          question_id: question.dataset.id,
          chosen: chosen,
          seed: parseInt(quiz.dataset.seed, 10),
          level: quiz.dataset.level,
          count: parseInt(quiz.dataset.count, 10),
          start: null,
          end: null
        })
      })
        .then(function (r) {
          return r.json().catch(function () { return {}; }).then(function (body) {
            if (!r.ok) throw new Error(typeof body.error === "string" ? body.error : "the server answered " + r.status);
            return body;
          });
        })
        .then(function (body) {
          delete question.dataset.busy;
          question.dataset.done = "1";
          var right = options[body.answer_index];
          if (right) right.classList.add("right");
          answered++;
          if (body.correct) {
            correct++;
            question.classList.add("was-right");
            feedback(question, "Right!", "good");
          } else {
            option.classList.add("wrong");
            question.classList.add("was-wrong");
            feedback(question, "Not quite: the answer is “" + body.answer + "”.", "bad");
            var clip = question.querySelector("a.quiz-play");
            missed.push({
              answer: String(body.answer),
              kind: question.dataset.kind,
              context: question.querySelector(".quiz-prompt").textContent.trim(),
              start: clip ? clip.dataset.start : question.dataset.clipStart,
              end: clip ? clip.dataset.end : question.dataset.clipEnd
            });
          }
          var gap = question.querySelector(".gap");
          if (gap) { gap.textContent = String(body.answer); gap.classList.add("filled"); }
          setCounter();
          next.hidden = false;
          next.focus();
        })
        .catch(function (err) {
          delete question.dataset.busy;
          option.classList.remove("chosen");
          options.forEach(function (o) { o.disabled = false; });
          feedback(question, "Could not save the answer: " + (err && err.message ? err.message : "network error"), "bad");
        });
    }

    quiz.addEventListener("click", function (event) {
      var option = event.target.closest("button.option");
      if (!option) return;
      answer(option.closest(".question"), option);
    });

    function playButton(start, end, label) {
      var a = document.createElement("a");
      a.className = "play quiz-play";
      a.href = "/episodes/" + quiz.dataset.episode + "#t=" + start;
      a.dataset.start = start;
      a.dataset.end = end;
      a.setAttribute("aria-label", label);
      a.title = label;
      var ns = "http://www.w3.org/2000/svg";
      var svg = document.createElementNS(ns, "svg");
      svg.setAttribute("viewBox", "0 0 16 16");
      svg.setAttribute("aria-hidden", "true");
      var shapes = [
        ["i-play", "M4.5 2.8v10.4c0 .6.7 1 1.2.6l8-5.2a.7.7 0 0 0 0-1.2l-8-5.2c-.5-.4-1.2 0-1.2.6z"],
        ["i-pause", "M4 2.5h2.6v11H4zM9.4 2.5H12v11H9.4z"]
      ];
      shapes.forEach(function (s) {
        var path = document.createElementNS(ns, "path");
        path.setAttribute("class", s[0]);
        path.setAttribute("d", s[1]);
        svg.appendChild(path);
      });
      a.appendChild(svg);
      return a;
    }

    function finish() {
      stopClip();
      questions.forEach(function (q) { q.classList.remove("current"); });
      nav.hidden = true;
      summary.hidden = false;
      summary.querySelector(".summary-correct").textContent = String(correct);
      var pct = Math.round(100 * correct / total);
      var verdict = pct === 100 ? "Perfect listening." : pct >= 60 ? "Well heard." : "Keep listening: replay the clips below.";
      summary.querySelector(".summary-line").textContent = pct + "% right. " + verdict;
      var list = document.getElementById("missed");
      while (list.firstChild) list.removeChild(list.firstChild);
      missed.forEach(function (m) {
        var li = document.createElement("li");
        if (audio) li.appendChild(playButton(m.start, m.end, "Replay the clip of “" + m.answer + "”"));
        var body = document.createElement("div");
        var word = document.createElement("strong");
        word.className = "missed-word";
        word.textContent = m.answer;
        var context = document.createElement("p");
        context.className = "missed-context muted small";
        context.textContent = m.kind === "who" ? "said “" + m.context + "”" : m.context;
        body.appendChild(word);
        body.appendChild(context);
        li.appendChild(body);
        list.appendChild(li);
      });
      summary.querySelector(".no-misses").hidden = missed.length > 0;
      summary.scrollIntoView({ block: "start", behavior: "auto" });
      document.getElementById("try-another").focus({ preventScroll: true });
    }

    next.addEventListener("click", function () {
      stopClip();
      index++;
      if (index >= total) finish();
      else {
        showQuestion(index);
        questions[index].scrollIntoView({ block: "nearest" });
      }
    });

    setCounter();
    showQuestion(0);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", quizPage);
  else quizPage();
})();
