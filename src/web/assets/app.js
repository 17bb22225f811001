// flowprobe status pages: keep the server-rendered page live without a
// reload. The overview updates its rows from /api/v1/flows; a flow page
// re-fetches itself. Values are only ever set as text (textContent), never
// as markup, so nothing a peer sends can become code here.
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

  function setTime(el, t) {
    if (!el) return;
    if (t === null || t === undefined) {
      el.removeAttribute("data-t");
      el.textContent = "";
      return;
    }
    t = Math.floor(t);
    el.dataset.t = String(t);
    el.setAttribute("datetime", utc(t));
    el.title = utc(t);
    el.textContent = age(now() - t) + " ago";
  }

  function tick() {
    const n = now();
    for (const el of document.querySelectorAll("time[data-t]")) {
      el.textContent = age(n - Number(el.dataset.t)) + " ago";
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

  function drawStrip(el, hist) {
    const last = hist.length ? String(hist[hist.length - 1].t) + "/" + hist.length : "";
    if (el.dataset.last === last) return;
    el.dataset.last = last;
    const cells = [];
    for (let i = hist.length; i < HISTORY_LEN; i++) {
      const c = document.createElement("i");
      c.className = "h none";
      cells.push(c);
    }
    let ups = 0;
    for (const e of hist) {
      const c = document.createElement("i");
      c.className = "h " + (e.up ? "up" : "down");
      c.title = utc(e.t) + " " + (e.up ? "UP" : "DOWN") + " " + e.reason;
      if (e.up) ups++;
      cells.push(c);
    }
    el.replaceChildren(...cells);
    el.setAttribute("aria-label", "last " + hist.length + " probes: " + ups + " up, " + (hist.length - ups) + " down");
  }

  function updateRow(tr, f) {
    const st = stateOf(f);
    tr.classList.remove("up", "down", "pending");
    tr.classList.add(st);
    const badge = tr.querySelector(".badge");
    badge.className = "badge " + st;
    badge.textContent = st.toUpperCase();
    const reason = f.last ? f.last.reason : "pending";
    tr.querySelector(".reason").textContent = reason;
    tr.querySelector(".note").textContent = noteOf(f);
    tr.querySelector(".detail").textContent = f.last ? f.last.detail : "not probed yet";
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

  function drawProblems(flows) {
    const rank = { critical: 0, warning: 1 };
    const down = flows.filter((f) => stateOf(f) === "down");
    down.sort((a, b) => ((rank[a.severity] ?? 2) - (rank[b.severity] ?? 2)) || ((a.since || 0) - (b.since || 0)));
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

  function drawCounts(flows) {
    const bySev = {};
    let up = 0, pending = 0, down = 0;
    for (const f of flows) {
      const st = stateOf(f);
      if (st === "up") up++;
      else if (st === "pending") pending++;
      else { down++; bySev[f.severity] = (bySev[f.severity] || 0) + 1; }
    }
    const nd = document.getElementById("n-down");
    nd.textContent = down + " down";
    nd.className = "count " + (down ? "down" : "none");
    const sev = ["critical", "warning", "info"].filter((s) => bySev[s]).map((s) => bySev[s] + " " + s);
    document.getElementById("n-down-sev").textContent = sev.length ? "(" + sev.join(", ") + ")" : "";
    document.getElementById("n-up").textContent = up + " up";
    document.getElementById("n-pending").textContent = pending + " pending";
    document.getElementById("n-total").textContent = flows.length + " flows";
    document.title = (down ? down + " down - " : "") + "flowprobe";
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
        tr.hidden = !ok;
        if (ok) visible++;
      }
      section.hidden = visible === 0;
      section.querySelector(".vcount").textContent = n + " flows, " + down + " down";
      shown += visible;
      total += n;
    }
    document.getElementById("shown").textContent = shown + " of " + total + " flows shown";
    const params = new URLSearchParams();
    if (filter.value) params.set("q", filter.value);
    if (want) params.set("state", want);
    const hash = params.toString();
    history.replaceState(null, "", hash ? "#" + hash : location.pathname + location.search);
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
          const r = await fetch(root + "api/v1/flows", { cache: "no-store", credentials: "same-origin" });
          if (!r.ok) throw new Error("HTTP " + r.status);
          const data = await r.json();
          const flows = data.flows || [];
          changed = flows.length !== rows.size;
          for (const f of flows) {
            const tr = rows.get(f.vantage + "\u0000" + f.name);
            if (tr) updateRow(tr, f); else changed = true;
          }
          drawCounts(flows);
          drawProblems(flows);
          applyFilter();
          document.getElementById("updated").textContent = "updated " + utc(now());
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
          if (next && next.innerHTML !== main.innerHTML) {
            // Keep what the reader opened.
            const open = [...main.querySelectorAll("details")].map((d) => d.open);
            main.replaceChildren(...next.childNodes);
            main.querySelectorAll("details").forEach((d, i) => { if (open[i]) d.open = true; });
            document.title = doc.title;
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
