// podscope: the little interaction the pages need. Everything works without it (links go to the episode page).
(function () {
  "use strict";

  function parseTime(hash) {
    var m = /(?:^#|&)t=([0-9:.]+)/.exec(hash || "");
    if (!m) return null;
    var parts = m[1].split(":").map(Number), t = 0;
    for (var i = 0; i < parts.length; i++) t = t * 60 + (parts[i] || 0);
    return isFinite(t) ? t : null;
  }

  // -- inline players: a ▶ on search results, review items and quotes plays that moment in place ------------------
  var inline = null, current = null;

  function stopInline() {
    if (current) current.classList.remove("playing");
    current = null;
    if (inline) inline.pause();
  }

  function playInline(button) {
    if (current === button && inline && !inline.paused) { stopInline(); return; }
    stopInline();
    var start = parseFloat(button.dataset.start) || 0;
    var end = parseFloat(button.dataset.end);
    var src = new URL(button.dataset.audio, location.href).href;
    if (!inline) {
      inline = document.createElement("audio");
      inline.className = "inline-player";
      inline.controls = true;
      inline.preload = "auto";
      inline.addEventListener("timeupdate", function () {
        if (inline.stopAt && inline.currentTime >= inline.stopAt) { inline.stopAt = null; stopInline(); }
      });
      inline.addEventListener("pause", function () { if (current) current.classList.remove("playing"); });
      inline.addEventListener("play", function () { if (current) current.classList.add("playing"); });
      inline.addEventListener("ended", stopInline);
    }
    var holder = button.parentNode.querySelector(".hit-body, .review-text, div") || button.parentNode;
    if (inline.parentNode !== holder) holder.appendChild(inline);
    inline.stopAt = isFinite(end) && end > start ? end : null;
    current = button;
    button.classList.add("playing");
    var seekAndPlay = function () {
      inline.currentTime = start;
      var p = inline.play();
      if (p && p.catch) p.catch(function () { button.classList.remove("playing"); });
    };
    if (inline.dataset.src !== src) {
      inline.dataset.src = src;
      inline.src = src + "#t=" + start.toFixed(2);
      inline.addEventListener("loadedmetadata", function once() {
        inline.removeEventListener("loadedmetadata", once);
        seekAndPlay();
      });
      inline.load();
    } else {
      seekAndPlay();
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("a.play[data-audio]");
    if (!button || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    playInline(button);
  });

  // -- the episode page: the transcript follows the player, and a click seeks ------------------------------------
  // -- chapters and key moments: a click seeks the player there (or, without one, shows that line of the transcript)
  function segmentAt(list, t) {
    var found = null;
    Array.prototype.forEach.call(list.querySelectorAll(".seg"), function (el) {
      if (parseFloat(el.dataset.start) <= t + 0.05) found = el;
    });
    return found;
  }

  function chapterLinks(seek) {
    var list = document.getElementById("transcript");
    Array.prototype.forEach.call(document.querySelectorAll("[data-seek-list]"), function (box) {
      box.addEventListener("click", function (event) {
        var link = event.target.closest("a[data-start]");
        if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
        event.preventDefault();
        var start = parseFloat(link.dataset.start);
        history.replaceState(null, "", "#t=" + start.toFixed(2));
        if (seek) { seek(start, true); return; }
        var el = list && segmentAt(list, start);
        if (el) el.scrollIntoView({ block: "center" });
      });
    });
  }

  function episodePage() {
    var audio = document.getElementById("player");
    var list = document.getElementById("transcript");
    if (!audio || !list) { chapterLinks(null); return; }
    var segs = Array.prototype.map.call(list.querySelectorAll(".seg"), function (el) {
      el.tabIndex = 0;
      return { el: el, start: parseFloat(el.dataset.start), end: parseFloat(el.dataset.end) };
    });
    var active = null, lastUserScroll = 0;
    window.addEventListener("wheel", function () { lastUserScroll = Date.now(); }, { passive: true });
    window.addEventListener("touchmove", function () { lastUserScroll = Date.now(); }, { passive: true });

    function indexAt(t) {
      var lo = 0, hi = segs.length - 1, found = -1;
      while (lo <= hi) {
        var mid = (lo + hi) >> 1;
        if (segs[mid].start <= t + 0.05) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
      }
      return found;
    }

    function highlight(t, force) {
      var i = indexAt(t);
      var next = i >= 0 ? segs[i] : null;
      if (next === active) return;
      if (active) active.el.classList.remove("active");
      active = next;
      if (!active) return;
      active.el.classList.add("active");
      var box = active.el.getBoundingClientRect();
      var offscreen = box.top < 70 || box.bottom > window.innerHeight;
      if (force || (offscreen && Date.now() - lastUserScroll > 3000)) {
        active.el.scrollIntoView({ block: "center", behavior: force ? "auto" : "smooth" });
      }
    }

    function seek(t, play) {
      audio.currentTime = t;
      highlight(t, false);
      if (play) {
        var p = audio.play();
        if (p && p.catch) p.catch(function () {});
      }
    }
    chapterLinks(function (t, play) { lastUserScroll = 0; seek(t, play); highlight(t, true); });

    audio.addEventListener("timeupdate", function () { highlight(audio.currentTime, false); });
    audio.addEventListener("seeked", function () { highlight(audio.currentTime, false); });

    list.addEventListener("click", function (event) {
      if (event.target.closest("a.who")) return; // a person's name goes to their page
      var el = event.target.closest(".seg");
      if (!el) return;
      event.preventDefault();
      lastUserScroll = 0;
      var start = parseFloat(el.dataset.start);
      history.replaceState(null, "", "#t=" + start.toFixed(2));
      seek(start, true);
    });
    list.addEventListener("keydown", function (event) {
      if ((event.key === "Enter" || event.key === " ") && event.target.classList.contains("seg")) {
        event.preventDefault();
        seek(parseFloat(event.target.dataset.start), true);
      }
    });

    function fromHash(play) {
      var t = parseTime(location.hash);
      if (t === null) return;
      highlight(t, true);
      if (audio.readyState >= 1) seek(t, play);
      else audio.addEventListener("loadedmetadata", function once() {
        audio.removeEventListener("loadedmetadata", once);
        seek(t, play);
      });
    }
    window.addEventListener("hashchange", function () { fromHash(true); });
    fromHash(true);
  }

  // -- translation: a switch fetches the episode's translation once per language and shows each line's under it ----
  function translateSwitches() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-translate]"), function (box) {
      var toggle = box.querySelector(".translate-toggle");
      var lang = box.querySelector(".translate-lang");
      var status = box.querySelector(".translate-status");
      var cache = {}, wanted = 0;
      box.hidden = false;

      function say(text, error) {
        status.textContent = text;
        status.classList.toggle("error", !!error);
      }

      function hideAll() {
        Array.prototype.forEach.call(document.querySelectorAll(".translation"), function (el) { el.hidden = true; });
      }

      function show(code, segments) {
        var byStart = {};
        segments.forEach(function (s) { byStart[Math.round(s.start * 100)] = s.translation; });
        var shown = 0;
        Array.prototype.forEach.call(document.querySelectorAll("[data-translate-start]"), function (host) {
          var key = Math.round(parseFloat(host.dataset.translateStart) * 100);
          var text = byStart[key];
          if (text === undefined) text = byStart[key - 1];
          if (text === undefined) text = byStart[key + 1];
          var el = host.nextElementSibling;
          if (!el || !el.classList.contains("translation")) {
            el = document.createElement("p");
            el.className = "translation";
            host.insertAdjacentElement("afterend", el);
          }
          el.lang = code;
          el.textContent = text === undefined ? "" : text;
          el.hidden = text === undefined || text === "";
          if (!el.hidden) shown++;
        });
        say(shown ? "" : "No translated lines here.", false);
      }

      function update() {
        if (!toggle.checked) { wanted++; hideAll(); say("", false); return; }
        var code = lang.value, ticket = ++wanted;
        if (cache[code]) { show(code, cache[code]); return; }
        say("Translating…", false);
        fetch(box.dataset.translate + "?to=" + encodeURIComponent(code), { headers: { Accept: "application/json" } })
          .then(function (r) {
            return r.json().catch(function () { return {}; }).then(function (body) {
              if (!r.ok) throw new Error(body.detail || body.error || ("the server answered " + r.status));
              return body;
            });
          })
          .then(function (body) {
            cache[code] = body.segments || [];
            if (ticket === wanted) show(code, cache[code]);
          })
          .catch(function (err) {
            if (ticket !== wanted) return;
            var detail = err && err.message ? String(err.message) : "unknown error";
            say("Translation failed: " + (typeof detail === "string" ? detail : JSON.stringify(detail)), true);
          });
      }

      toggle.addEventListener("change", update);
      lang.addEventListener("change", function () { if (toggle.checked) update(); });
    });
  }

  function ready() {
    episodePage();
    translateSwitches();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", ready);
  else ready();
})();
