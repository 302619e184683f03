// postpipe preview: live updates over Server-Sent Events, no page reloads.
//
// data-mode="page": a preview page. On a rebuild that concerns it, it fetches
//   itself again and swaps the changed regions ([data-pp-region]); iframes
//   ([data-pp-frame]) load again behind the visible ones and take their place
//   at the same scroll position. The tab, the page scroll and the page itself stay.
// data-mode="blog": a built blog page opened on its own. It reloads itself and
//   restores its scroll position. Inside a preview iframe it does nothing.
(() => {
  "use strict";
  const script = document.currentScript;
  const mode = script.dataset.mode || "page";
  if (mode === "blog" && window.top !== window) return;
  const boot = script.dataset.boot || "";
  let since = Number(script.dataset.gen || -1);
  const scrollKey = "pp-scroll:" + location.pathname;

  // -- the live indicator -------------------------------------------------------
  let doneTimer = 0;
  function setLive(state) {
    const el = document.getElementById("pp-live");
    if (!el) return;
    const text = { live: "Live", connecting: "Connecting…", offline: "Reconnecting…",
                   updating: "Updating…", updated: "Updated" }[state];
    el.dataset.state = state;
    el.querySelector(".pp-live-text").textContent = text;
    clearTimeout(doneTimer);
    if (state === "updated") doneTimer = setTimeout(() => setLive("live"), 1500);
  }

  // -- tabs and widths -------------------------------------------------------------
  function applyTab() {
    const tabs = [...document.querySelectorAll("[data-pp-tab]")];
    if (!tabs.length) return;
    const names = tabs.map((t) => t.dataset.ppTab);
    const wanted = location.hash.slice(1);
    const name = names.includes(wanted) ? wanted : names[0];
    for (const t of tabs) t.setAttribute("aria-selected", String(t.dataset.ppTab === name));
    for (const p of document.querySelectorAll("[data-pp-panel]")) p.hidden = p.dataset.ppPanel !== name;
  }
  function applyWidth() {
    const box = document.getElementById("pp-blog-box");
    if (!box) return;
    const width = sessionStorage.getItem("pp-width") || "desktop";
    box.classList.toggle("is-phone", width === "phone");
    for (const b of document.querySelectorAll("[data-pp-width]")) {
      b.setAttribute("aria-pressed", String(b.dataset.ppWidth === width));
    }
  }
  // The email frames in a colour scheme: "light" (as sent), "dark" (the email's own
  // prefers-color-scheme rules, as Apple Mail shows it) or "invert" (what the Gmail
  // app and Outlook do to an email without them). The server rewrites the HTML.
  function schemeSrc(name, src) {
    const scheme = sessionStorage.getItem("pp-scheme") || "light";
    if (!name.startsWith("email") || scheme === "light") return src;
    return src + (src.includes("?") ? "&" : "?") + "scheme=" + scheme;
  }
  function applyScheme() {
    const scheme = sessionStorage.getItem("pp-scheme") || "light";
    for (const b of document.querySelectorAll("[data-pp-scheme]")) {
      b.setAttribute("aria-pressed", String(b.dataset.ppScheme === scheme));
    }
    for (const f of document.querySelectorAll("iframe[data-pp-frame^='email']:not(.pp-next)")) {
      const base = f.dataset.ppSrc || f.getAttribute("src");
      f.dataset.ppSrc = base;
      const want = schemeSrc(f.dataset.ppFrame, base);
      if (f.getAttribute("src") !== want) f.setAttribute("src", want);
    }
  }
  document.addEventListener("click", (ev) => {
    const scheme = ev.target.closest("[data-pp-scheme]");
    if (scheme) {
      sessionStorage.setItem("pp-scheme", scheme.dataset.ppScheme);
      applyScheme();
      return;
    }
    const tab = ev.target.closest("[data-pp-tab]");
    if (tab) {
      history.replaceState(null, "", "#" + tab.dataset.ppTab);
      applyTab();
      return;
    }
    const width = ev.target.closest("[data-pp-width]");
    if (width) {
      sessionStorage.setItem("pp-width", width.dataset.ppWidth);
      applyWidth();
    }
  });
  window.addEventListener("hashchange", applyTab);

  // -- swapping in a new version of the page -----------------------------------------
  function signature(page) {
    const parts = [page.dataset.shape || ""];
    for (const el of page.querySelectorAll("[data-pp-region],[data-pp-frame]")) {
      parts.push(el.dataset.ppRegion || "frame:" + el.dataset.ppFrame);
    }
    return parts.join("|");
  }

  function keepDetails(oldRoot, newRoot) {
    for (const d of oldRoot.querySelectorAll("details[id]")) {
      const twin = newRoot.querySelector("details#" + CSS.escape(d.id));
      if (twin) twin.open = d.open;
    }
  }

  function swapFrame(old, src) {
    let x = 0, y = 0;
    try { x = old.contentWindow.scrollX; y = old.contentWindow.scrollY; } catch (e) { /* not ours */ }
    for (const pending of old.parentNode.querySelectorAll("iframe.pp-next")) pending.remove();
    const next = old.cloneNode(false);
    next.classList.add("pp-next");
    next.setAttribute("src", src);
    next.addEventListener("load", () => {
      // "instant": the page's own CSS may ask for smooth scrolling
      try { next.contentWindow.scrollTo({ left: x, top: y, behavior: "instant" }); } catch (e) { /* not ours */ }
      next.classList.remove("pp-next");
      old.remove();
    }, { once: true });
    old.after(next);
  }

  function morph(doc) {
    const oldPage = document.getElementById("pp-page");
    const newPage = doc.getElementById("pp-page");
    if (!oldPage || !newPage) { location.reload(); return; }
    document.title = doc.title;
    if (signature(oldPage) !== signature(newPage)) {
      // another kind of page (an error page, or the post is back): take it whole
      keepDetails(oldPage, newPage);
      oldPage.replaceWith(document.importNode(newPage, true));
      applyTab();
      applyWidth();
      applyScheme();
      return;
    }
    oldPage.dataset.watch = newPage.dataset.watch;
    for (const region of newPage.querySelectorAll("[data-pp-region]")) {
      const name = CSS.escape(region.dataset.ppRegion);
      const old = oldPage.querySelector(`[data-pp-region="${name}"]`);
      if (!old || old.innerHTML === region.innerHTML) continue;
      keepDetails(old, region);
      old.replaceWith(document.importNode(region, true));
    }
    for (const frame of newPage.querySelectorAll("iframe[data-pp-frame]")) {
      const name = CSS.escape(frame.dataset.ppFrame);
      const old = oldPage.querySelector(`iframe[data-pp-frame="${name}"]:not(.pp-next)`);
      if (old) {
        old.dataset.ppSrc = frame.getAttribute("src");
        swapFrame(old, schemeSrc(frame.dataset.ppFrame, frame.getAttribute("src")));
      }
    }
  }

  let busy = false, again = false;
  async function refresh() {
    if (mode === "blog") {
      sessionStorage.setItem(scrollKey, String(window.scrollY));
      location.reload();
      return;
    }
    if (busy) { again = true; return; }
    busy = true;
    setLive("updating");
    try {
      const res = await fetch(location.pathname + location.search, { cache: "no-store" });
      const text = await res.text();
      morph(new DOMParser().parseFromString(text, "text/html"));
      window.__ppRefreshes = (window.__ppRefreshes || 0) + 1;
      setLive("updated");
    } catch (e) {
      setLive("offline");
    } finally {
      busy = false;
      if (again) { again = false; refresh(); }
    }
  }

  // -- the event stream ---------------------------------------------------------------
  function concerns(change) {
    if (mode === "blog" || change.all) return true;
    const page = document.getElementById("pp-page");
    const watch = page ? page.dataset.watch : "*";
    return watch === "*" || change.keys.includes(watch);
  }

  let source = null;
  function connect() {
    if (source) return;
    const url = `/_preview/events?since=${since}&boot=${encodeURIComponent(boot)}`;
    source = new EventSource(url);
    source.onopen = () => { window.__ppLive = true; setLive("live"); };
    source.onerror = () => setLive("offline"); // EventSource retries by itself
    source.onmessage = (ev) => {
      const change = JSON.parse(ev.data);
      since = change.gen;
      if (concerns(change)) refresh();
    };
  }
  function disconnect() {
    if (source) { source.close(); source = null; }
  }
  // Hidden tabs let go of their connection (browsers allow few per server) and
  // catch up when they are shown again: the server sends what they missed.
  document.addEventListener("visibilitychange", () => (document.hidden ? disconnect() : connect()));
  window.addEventListener("pagehide", disconnect);

  function start() {
    applyTab();
    applyWidth();
    applyScheme();
    if (mode === "blog") {
      const y = sessionStorage.getItem(scrollKey);
      if (y !== null) {
        sessionStorage.removeItem(scrollKey);
        window.scrollTo({ left: 0, top: Number(y), behavior: "instant" });
      }
    }
    if (!document.hidden) connect();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
