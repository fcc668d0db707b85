// The status page's style sheet and script, served with it: no external assets (the page
// works through kubectl port-forward with no internet), CSP script-src 'self'.
#include "sidecar/http/render.hpp"

namespace vitals {

const char* page_style() {
    // Every badge's text meets WCAG AA (4.5:1) against its own background, in both schemes
    // (tests/e2e/page_test.cpp computes it from the rendered colours): white on the ok, fail
    // and unknown colours, near-black on the amber of warn.
    static const char style[] =
        "body{font:14px system-ui,sans-serif;margin:1.5em;color:#1f1f1f;background:#fff}"
        "[hidden]{display:none!important}"
        "a{color:#0d47a1}a.name,a.kind{text-decoration:none}a.name:hover,a.kind:hover"
        "{text-decoration:underline}"
        "table{border-collapse:collapse;width:100%}td,th{padding:.45em .6em;border-bottom:1px "
        "solid #ddd;text-align:left;vertical-align:top;overflow-wrap:anywhere}"
        ".scroll{overflow-x:auto}"
        ".st{border-radius:3px;padding:.1em .5em;font-weight:600;color:#fff;background:#616161}"
        ".st.ok{background:#2e7d32}.st.warn{background:#f9a825;color:#1f1f1f}"
        ".st.fail{background:#c62828}"
        ".grp{display:inline-block;margin:.2em .25em 0 0;padding:0 .4em;border-radius:3px;"
        "font-size:11px;color:#283593;background:#e8eaf6}"
        ".where{font-size:.6em;font-weight:400;color:#444}.identity{color:#444}"
        ".reason{font-size:1.15em;font-weight:600;color:#b71c1c;margin-bottom:.25em}"
        ".reason:empty,.msg:empty,.head:empty{display:none}.head{font-size:1.05em}"
        ".msg{color:#555}.since{color:#595959}summary{color:#555;cursor:pointer}"
        ".obs{font:12px ui-monospace,monospace;color:#444;white-space:pre-line}"
        ".trend polyline{fill:none;stroke:#1565c0;stroke-width:1.5}"
        ".trend-label{display:block;color:#595959;font-size:11px}"
        "#filter{width:min(24em,100%);box-sizing:border-box;padding:.3em;font:inherit}"
        "#counts{color:#444}"
        "#disconnected{position:sticky;top:0;z-index:1;padding:.6em .8em;margin:0 0 1em;"
        "background:#c62828;color:#fff;font-weight:600;border-radius:3px}"
        "body[data-stale=true] table.checks{opacity:.55}"
        // A check blocked by another's failure sits under its root, indented and quieter.
        "tr.check[data-root] td:first-child{padding-left:1.8em}"
        "tr.check[data-root] .reason{font-size:1em;font-weight:400}"
        "@media (prefers-color-scheme:dark){"
        "body{color:#e6e6e6;background:#121212}a{color:#90caf9}td,th{border-color:#333}"
        ".grp{color:#e8eaf6;background:#283593}.where,.identity,#counts{color:#bdbdbd}"
        ".reason{color:#ff8a80}.msg,summary{color:#bdbdbd}.since,.trend-label{color:#a6a6a6}"
        ".obs{color:#cfcfcf}.trend polyline{stroke:#90caf9}"
        "#filter{background:#1e1e1e;color:#e6e6e6;border:1px solid #555}}"
        // A phone, or a narrow window: each row a block, nothing wider than the screen.
        "@media (max-width:700px){body{margin:.6em}"
        "table.checks thead{display:none}"
        "table.checks tr.check{display:block;border-bottom:1px solid #ddd;padding:.3em 0}"
        "table.checks td{display:block;border:0;padding:.15em .3em}"
        "table.checks td br{display:none}table.checks td small{margin-left:.5em}}";
    return style;
}

const std::string& page_script() {
    // Updates the rendered page in place from /page.json: text through textContent and
    // attributes only, never HTML, so nothing in a check's message can become markup.
    static const std::string script = R"JS("use strict";
(function () {
  const svg = "http://www.w3.org/2000/svg";
  let updates = 0;
  let lastAnswer = Date.now();
  const first = Number(document.body.dataset.incidents || -1);
  const filter = document.getElementById("filter");
  const banner = document.getElementById("disconnected");
  function set(row, selector, text) {
    const el = row.querySelector(selector);
    if (el) el.textContent = text;
  }
  // Rows whose text holds what is typed (name, kind, status, group badges, message).
  function applyFilter() {
    const q = filter.value.trim().toLowerCase();
    let shown = 0;
    for (const row of document.querySelectorAll("tr.check")) {
      const match = !q || row.dataset.status === q || row.textContent.toLowerCase().includes(q);
      row.hidden = !match;
      if (match) shown += 1;
    }
    document.getElementById("no-match").hidden = !q || shown > 0;
  }
  function fleet(data) {
    const body = document.getElementById("fleet-rows");
    if (!body || !data.fleet) return;
    while (body.firstChild) body.removeChild(body.firstChild);
    for (const cells of data.fleet.rows) {
      const tr = document.createElement("tr");
      for (const text of cells) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    set(document, "#fleet-note", data.fleet.note);
  }
  function apply(data) {
    document.title = document.title.replace(/^vitals: [a-z]+/, "vitals: " + data.status);
    const overall = document.getElementById("overall");
    overall.textContent = data.status;
    overall.className = "st " + data.status;
    document.getElementById("probes").textContent = data.probes;
    document.getElementById("updated").textContent = data.updated;
    document.getElementById("counts").textContent = data.counts;
    const rows = document.getElementById("rows");
    for (const c of data.checks) {
      const row = document.querySelector('tr.check[data-check="' + CSS.escape(c.name) + '"]');
      if (!row) { location.reload(); return; }
      row.dataset.status = c.status;
      if (c.root) row.dataset.root = c.root; else delete row.dataset.root;
      const badge = row.querySelector(".st");
      badge.textContent = c.badge;
      badge.className = "st " + c.status;
      set(row, ".since", c.since);
      set(row, ".reason", c.reason);
      set(row, ".head", c.headline);
      set(row, ".msg", c.message);
      set(row, ".more-count", c.more_count);
      set(row, ".obs", c.more);
      row.querySelector("details.more").hidden = c.more_count === "0";
      set(row, ".trend-label", c.trend_label);
      row.querySelector(".trend polyline").setAttribute("points", c.trend_points);
      const runs = row.querySelector("svg.runs");
      while (runs.firstChild) runs.removeChild(runs.firstChild);
      c.runs.forEach(function (r, i) {
        const bar = document.createElementNS(svg, "rect");
        bar.setAttribute("x", String(i * 3));
        bar.setAttribute("y", String(16 - r[0]));
        bar.setAttribute("width", "2");
        bar.setAttribute("height", String(r[0]));
        bar.setAttribute("fill", r[1]);
        runs.appendChild(bar);
      });
      rows.appendChild(row);  // in the server's order: failing, then warning, then the rest
    }
    fleet(data);
    applyFilter();
    document.body.dataset.updates = String(++updates);
    // A new incident: its snapshot is rendered by the server, so fetch the page once.
    if (first >= 0 && data.incidents !== first) location.reload();
  }
  function connected(yes) {
    if (yes) lastAnswer = Date.now();
    if (!yes && banner.hidden) document.getElementById("last-update").textContent =
      document.getElementById("updated").textContent;
    document.body.dataset.stale = yes ? "false" : "true";
    banner.hidden = yes;
    tick();
  }
  // How long vitals has not answered, counted while it does not. An answer that never comes
  // (a port-forward whose far end is gone can hold a request open) counts after two refreshes.
  function tick() {
    const silent = Date.now() - lastAnswer;
    if (banner.hidden && silent > 12000) connected(false);
    if (banner.hidden) return;
    document.getElementById("disconnected-for").textContent = Math.round(silent / 1000) + " s";
  }
  function refresh() {
    const abort = new AbortController();
    const late = setTimeout(function () { abort.abort(); }, 4000);
    fetch("/page.json", {cache: "no-store", signal: abort.signal})
      .then(function (r) { if (!r.ok) throw new Error(String(r.status)); return r.json(); })
      .then(function (data) { connected(true); apply(data); })
      .catch(function () { connected(false); })
      .finally(function () { clearTimeout(late); });
  }
  filter.addEventListener("input", applyFilter);
  refresh();
  setInterval(refresh, 5000);
  setInterval(tick, 1000);
})();
)JS";
    return script;
}

}  // namespace vitals
