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
  function episodePage() {
    var audio = document.getElementById("player");
    var list = document.getElementById("transcript");
    if (!audio || !list) return;
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

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", episodePage);
  else episodePage();
})();
