// flowprobe status pages: keep the server-rendered page live without a
// reload. The overview updates its rows, counts and header from
// /api/v1/flows, setting values only as text (textContent), never as
// markup, so nothing a peer sends can become code here. A flow page
// re-fetches itself and swaps in the server's fresh <main> (markup the
// server escaped, parsed inert by DOMParser), but not while the reader is
// focused or has selected text in it.
"use strict";
(function () {
  const POLL_MS = 5000;
  const RETRY_MS = 10000;
  const body = document.body;
  const root = body.dataset.root || "";
  const offline = document.getElementById("offline");
  let failingSince = null;

  function now() { return Math.floor(Date.now() / 1000); }

  function age(s) {
    s = Math.max(0, Math.floor(s));
    if (s < 60) return s + " s";
    if (s < 3600) return Math.floor(s / 60) + " min";
    if (s < 86400) {
      const m = Math.floor((s % 3600) / 60);
      return Math.floor(s / 3600) + " h " + (m < 10 ? "0" : "") + m + " min";
    }
    return Math.floor(s / 86400) + " d";
  }

  function utc(t) {
    return new Date(t * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
  }

  // Text is only written when it changes: no needless DOM work at 1,000
  // rows, and a live region announces only what is new.
  function setText(el, s) {
    if (el && el.textContent !== s) el.textContent = s;
  }

  function setClass(el, c) {
    if (el && el.className !== c) el.className = c;
  }

  function setTime(el, t) {
    if (!el) return;
    if (t === null || t === undefined) {
      el.removeAttribute("data-t");
      setText(el, "");
      return;
    }
    t = Math.floor(t);
    if (el.dataset.t !== String(t)) {
      el.dataset.t = String(t);
      el.setAttribute("datetime", utc(t));
      el.title = utc(t);
    }
    setText(el, age(now() - t) + " ago");
  }

  function tick() {
    const n = now();
    for (const el of document.querySelectorAll("time[data-t]")) {
      setText(el, age(n - Number(el.dataset.t)) + " ago");
    }
  }

  function reachable(ok) {
    if (ok) {
      failingSince = null;
      offline.hidden = true;
      return;
    }
    if (failingSince === null) failingSince = now();
    offline.textContent = "Cannot reach the flowprobe daemon since " + utc(failingSince) +
      "; retrying every " + RETRY_MS / 1000 + " s. What is shown may be stale.";
    offline.hidden = false;
  }

  function schedule(fn, ok) { setTimeout(fn, ok ? POLL_MS : RETRY_MS); }

  // ---- overview ----
  const HISTORY_LEN = 60;

  function stateOf(f) { return !f.last ? "pending" : (f.last.up ? "up" : "down"); }

  function noteOf(f) {
    if (f.expect !== "closed" || !f.last) return "";
    return f.last.up ? "closed, as required" : "open, but must be closed";
  }

  // Consecutive probes with the same outcome are one element, as the
  // server renders them (w{n}: width in cells).
  function runs(hist) {
    const out = [];
    for (const e of hist) {
      const r = out[out.length - 1];
      if (r && r.up === e.up && r.reason === e.reason) { r.n++; r.last = e.t; }
      else out.push({ up: e.up, reason: e.reason, n: 1, first: e.t, last: e.t });
    }
    return out;
  }

  function drawStrip(el, hist) {
    const last = hist.length ? String(hist[hist.length - 1].t) + "/" + hist.length : "";
    if (el.dataset.last === last) return;
    el.dataset.last = last;
    const cells = [];
    if (hist.length < HISTORY_LEN) {
      const c = document.createElement("i");
      c.className = "h none w" + (HISTORY_LEN - hist.length);
      cells.push(c);
    }
    let ups = 0;
    for (const r of runs(hist)) {
      const c = document.createElement("i");
      const st = r.up ? "UP" : "DOWN";
      c.className = "h " + (r.up ? "up" : "down") + " w" + r.n;
      c.title = r.n === 1 ? utc(r.first) + " " + st + " " + r.reason
        : r.n + " probes " + st + " " + r.reason + ", " + utc(r.first) + " to " + utc(r.last);
      if (r.up) ups += r.n;
      cells.push(c);
    }
    el.replaceChildren(...cells);
    el.setAttribute("aria-label", "last " + hist.length + " probes: " + ups + " up, " + (hist.length - ups) + " down");
  }

  function updateRow(tr, f) {
    const st = stateOf(f);
    if (!tr.classList.contains(st)) {
      tr.classList.remove("up", "down", "pending");
      tr.classList.add(st);
    }
    const badge = tr.querySelector(".badge");
    setClass(badge, "badge " + st);
    setText(badge, st.toUpperCase());
    const reason = f.last ? f.last.reason : "pending";
    setText(tr.querySelector(".reason"), reason);
    setText(tr.querySelector(".note"), noteOf(f));
    setText(tr.querySelector(".detail"), f.last ? f.last.detail : "not probed yet");
    setTime(tr.querySelector("time.since"), f.since);
    setTime(tr.querySelector("time.age"), f.last ? f.last.started : null);
    drawStrip(tr.querySelector(".strip"), f.history || []);
    tr.dataset.search = [f.vantage, f.name, f.to, f.host, reason, st.toUpperCase(), f.severity, f.check]
      .join(" ").toLowerCase();
  }

  function flowHref(f) {
    return root + "flow/" + encodeURIComponent(f.vantage) + "/" + encodeURIComponent(f.name);
  }

  function text(tag, cls, s) {
    const el = document.createElement(tag);
    if (cls) el.className = cls;
    el.textContent = s;
    return el;
  }

  let problemsKey = null;

  function drawProblems(flows) {
    const rank = { critical: 0, warning: 1 };
    const down = flows.filter((f) => stateOf(f) === "down");
    down.sort((a, b) => ((rank[a.severity] ?? 2) - (rank[b.severity] ?? 2)) || ((a.since || 0) - (b.since || 0)));
    const key = JSON.stringify(down.map((f) => [f.vantage, f.name, f.severity, f.last.reason, f.since]));
    if (key === problemsKey) return;
    problemsKey = key;
    const items = down.map((f) => {
      const li = document.createElement("li");
      li.className = "sev-" + f.severity;
      const a = text("a", "", f.vantage + " / " + f.name);
      a.href = flowHref(f);
      li.append(text("span", "badge down", "DOWN"), " ", text("span", "sev", f.severity), " ", a, " ",
        text("code", "reason", f.last.reason));
      if (f.since) {
        const t = document.createElement("time");
        t.className = "since";
        setTime(t, f.since);
        li.append(" since ", t);
      }
      return li;
    });
    document.getElementById("problem-list").replaceChildren(...items);
    document.getElementById("all-good").hidden = down.length > 0;
    document.getElementById("problems").classList.toggle("clear", down.length === 0);
  }

  // The totals of every flow (the page shows one page of them); an up
  // flow with a warning counts as up.
  function drawCounts(t) {
    const bySev = t.down_by_severity || {};
    const down = t.down, up = t.up + t.warn, pending = t.pending;
    // #counts is a live region: only what changed is written.
    const nd = document.getElementById("n-down");
    setText(nd, down + " down");
    setClass(nd, "count " + (down ? "down" : "none"));
    const sev = ["critical", "warning", "info"].filter((s) => bySev[s]).map((s) => bySev[s] + " " + s);
    setText(document.getElementById("n-down-sev"), sev.length ? "(" + sev.join(", ") + ")" : "");
    setText(document.getElementById("n-up"), up + " up");
    setText(document.getElementById("n-pending"), pending + " pending");
    setText(document.getElementById("n-total"), t.all + " flows");
    const title = (down ? down + " down - " : "") + "flowprobe";
    if (document.title !== title) document.title = title;
  }

  // Readiness, configuration and last reload: the `daemon` object of
  // /api/v1/flows (absent from an older daemon: then left as rendered).
  function drawDaemon(d) {
    if (!d) return;
    const ready = document.getElementById("ready");
    setClass(ready, "badge " + (d.ready ? "up" : "pending"));
    setText(ready, d.ready ? "READY" : "FIRST ROUND RUNNING");
    setText(document.getElementById("origin"), d.origin);
    setText(document.getElementById("reload-at"), d.last_reload ? utc(d.last_reload) : "unknown");
    setTime(document.querySelector("time.reload"), d.last_reload);
    const failed = document.getElementById("reload-failed");
    if (failed.hidden !== d.last_reload_ok) failed.hidden = d.last_reload_ok;
  }

  const filter = document.getElementById("filter");
  const stateFilter = document.getElementById("state-filter");

  function applyFilter() {
    const terms = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
    const want = stateFilter.value;
    let shown = 0, total = 0;
    for (const section of document.querySelectorAll("section.vantage")) {
      let visible = 0, n = 0, down = 0;
      for (const tr of section.querySelectorAll("tr.flow")) {
        n++;
        if (tr.classList.contains("down")) down++;
        const ok = terms.every((t) => tr.dataset.search.includes(t)) && (!want || tr.classList.contains(want));
        if (tr.hidden === ok) tr.hidden = !ok;
        if (ok) visible++;
      }
      if (section.hidden !== (visible === 0)) section.hidden = visible === 0;
      setText(section.querySelector(".vcount"), n + " flows, " + down + " down");
      shown += visible;
      total += n;
    }
    // <output> is a live region too.
    setText(document.getElementById("shown"), shown + " of " + total + " flows shown");
    const params = new URLSearchParams();
    if (filter.value) params.set("q", filter.value);
    if (want) params.set("state", want);
    const hash = params.toString();
    if (location.hash.slice(1) !== hash) {
      history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
    }
  }

  function overview() {
    const rows = new Map();
    for (const tr of document.querySelectorAll("tr.flow")) {
      rows.set(tr.dataset.vantage + "\u0000" + tr.dataset.name, tr);
    }
    const params = new URLSearchParams(location.hash.slice(1));
    filter.value = params.get("q") || "";
    stateFilter.value = params.get("state") || "";
    filter.addEventListener("input", applyFilter);
    stateFilter.addEventListener("change", applyFilter);
    document.getElementById("filters").addEventListener("submit", (e) => e.preventDefault());
    applyFilter();

    async function poll() {
      let changed = false;
      try {
        if (!document.hidden) {
          // The last poll's timings, for people and the browser test:
          // performance.getEntriesByName("flowprobe-poll" / "flowprobe-update").
          const start = performance.now();
          // This page's rows (the same query as the page), and the
          // totals of every flow.
          const api = root + "api/v1/flows" + (document.body.dataset.api || "");
          const r = await fetch(api, { cache: "no-store", credentials: "same-origin" });
          if (!r.ok) throw new Error("HTTP " + r.status);
          const data = await r.json();
          const flows = data.flows || [];
          const drawn = performance.now();
          changed = flows.length !== rows.size;
          for (const f of flows) {
            const tr = rows.get(f.vantage + "\u0000" + f.name);
            if (tr) updateRow(tr, f); else changed = true;
          }
          const totals = data.totals;
          if (totals) {
            drawCounts(totals);
            // The list names at most 50 down flows; when they all fit,
            // it is redrawn from them, else the page's list stands and
            // the count of the rest is kept current.
            const more = Math.max(0, totals.down - 50);
            setText(document.getElementById("n-more"), String(more));
            const box = document.getElementById("attention-more");
            if (box.hidden !== (more === 0)) box.hidden = more === 0;
            if (more === 0) {
              const d = await fetch(root + "api/v1/flows?state=down&limit=50",
                { cache: "no-store", credentials: "same-origin" });
              if (!d.ok) throw new Error("HTTP " + d.status);
              drawProblems((await d.json()).flows || []);
            }
          }
          drawDaemon(data.daemon);
          applyFilter();
          setText(document.getElementById("updated"), "updated " + utc(now()));
          performance.clearMeasures("flowprobe-poll");
          performance.clearMeasures("flowprobe-update");
          performance.measure("flowprobe-poll", { start: start, end: performance.now() });
          performance.measure("flowprobe-update", { start: drawn, end: performance.now() });
        }
      } catch (e) {
        reachable(false);
        schedule(poll, false);
        return;
      }
      reachable(true);
      if (changed) {
        const a = text("a", "", "load the new list");
        a.href = root;
        offline.replaceChildren("The set of flows changed (a reload?): ", a);
        offline.hidden = false;
      }
      schedule(poll, true);
    }
    schedule(poll, true);
  }

  // ---- flow page ----
  // The markup to compare, without the ages the clock ticks and the
  // details the reader opened (a swap only for a real change).
  function signature(node) {
    const c = node.cloneNode(true);
    for (const t of c.querySelectorAll("time[data-t]")) t.textContent = "";
    for (const d of c.querySelectorAll("details")) d.removeAttribute("open");
    return c.innerHTML;
  }

  // The reader is in the middle of something: focus on a control or a
  // text selection inside main. A swap would drop it; the next poll tries
  // again (the ages keep ticking, so what is shown says how old it is).
  function busy(main) {
    const a = document.activeElement;
    if (a && a !== document.body && main.contains(a)) return true;
    const sel = document.getSelection();
    return !!sel && !sel.isCollapsed && sel.toString() !== "" &&
      (main.contains(sel.anchorNode) || main.contains(sel.focusNode));
  }

  function flowPage() {
    async function poll() {
      let ok = false;
      try {
        if (!document.hidden) {
          const r = await fetch(location.pathname, { cache: "no-store", credentials: "same-origin" });
          if (r.status === 404) {
            offline.textContent = "This flow is no longer in the running configuration.";
            offline.hidden = false;
            schedule(poll, false);
            return;
          }
          if (!r.ok) throw new Error("HTTP " + r.status);
          const doc = new DOMParser().parseFromString(await r.text(), "text/html");
          const next = doc.getElementById("main");
          const main = document.getElementById("main");
          if (next && !busy(main) && signature(next) !== signature(main)) {
            // Keep what the reader opened.
            const open = [...main.querySelectorAll("details")].map((d) => d.open);
            main.replaceChildren(...next.childNodes);
            main.querySelectorAll("details").forEach((d, i) => { if (open[i]) d.open = true; });
            if (document.title !== doc.title) document.title = doc.title;
          }
        }
        ok = true;
      } catch (e) {
        ok = false;
      }
      reachable(ok);
      schedule(poll, ok);
    }
    schedule(poll, true);
  }

  setInterval(tick, 1000);
  if (body.dataset.page === "overview") overview();
  else if (body.dataset.page === "flow") flowPage();
})();
