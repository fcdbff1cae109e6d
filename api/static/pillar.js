// Pillar's pages: live regions that refresh themselves, local times, filter forms that submit on change,
// a confirmation before destructive buttons, and wide boxes reachable by keyboard. Plain JavaScript, no build step.
(function () {
  "use strict";

  function localTimes(root) {
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var at = new Date(el.getAttribute("datetime"));
      if (!isNaN(at)) {
        el.textContent = at.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
      }
    });
  }

  // A box that scrolls sideways (a wide table on a phone) takes the keyboard's focus, so it can be scrolled without a mouse.
  function scrollables(root) {
    root.querySelectorAll(".table, .graph-scroll").forEach(function (box) {
      if (box.scrollWidth > box.clientWidth) { box.tabIndex = 0; } else { box.removeAttribute("tabindex"); }
    });
  }

  // Swap a region's content for the server's newer fragment, keeping what the reader is in the middle of:
  // an item they typed into, one with a refusal message, and disclosures they opened.
  function swap(region, html) {
    var fresh = document.createElement("div");
    fresh.innerHTML = html;
    region.querySelectorAll("[id]").forEach(function (old) {
      var keep = old.hasAttribute("data-keep") || old.contains(document.activeElement);
      var twin = fresh.querySelector("#" + CSS.escape(old.id));
      if (!twin || twin === old) { return; }
      if (keep) { twin.replaceWith(old); }
      else if (old.tagName === "DETAILS" && old.open) { twin.open = true; }
    });
    region.replaceChildren.apply(region, Array.from(fresh.childNodes));
    localTimes(region);
    scrollables(region);
  }

  function live(region) {
    var every = (Number(region.dataset.liveEvery) || 5) * 1000;
    var status = document.querySelector("[data-live-status]");
    var last = null;
    region.addEventListener("input", function (event) {
      var item = event.target.closest("[id]");
      if (item && region.contains(item)) { item.setAttribute("data-keep", ""); }
    });
    function tick() {
      if (document.hidden) { return setTimeout(tick, every); }
      fetch(region.dataset.liveSrc, { headers: { "X-Pillar-Live": "1" }, credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (response.status === 401) { window.location.reload(); return null; }
          return response.ok ? response.text() : null;
        })
        .then(function (html) {
          if (html === null) { return; }
          if (html !== last) { swap(region, html); last = html; }
          region.dataset.liveRefreshes = String(Number(region.dataset.liveRefreshes || 0) + 1);
          if (status) { status.textContent = "Live · updated " + new Date().toLocaleTimeString(); }
        })
        .catch(function () { if (status) { status.textContent = "Offline · retrying"; } })
        .finally(function () { setTimeout(tick, every); });
    }
    setTimeout(tick, every);
  }

  document.addEventListener("DOMContentLoaded", function () {
    localTimes(document);
    scrollables(document);
    window.addEventListener("resize", function () { scrollables(document); });
    document.querySelectorAll("[data-live-src]").forEach(live);
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
      });
    });
  });
})();
