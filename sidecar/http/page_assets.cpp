// The status page's style sheet and script, served with it: no external assets (the page
// works through kubectl port-forward with no internet), CSP script-src 'self'.
#include "sidecar/http/render.hpp"

namespace vitals {

const char* page_style() {
    static const char style[] =
        "body{font:14px system-ui,sans-serif;margin:1.5em;color:#222}"
        "table{border-collapse:collapse;width:100%}td,th{padding:.45em .6em;border-bottom:1px "
        "solid #ddd;text-align:left;vertical-align:top}"
        ".st{color:#fff;border-radius:3px;padding:.1em .5em;font-weight:600}"
        ".reason{font-size:1.15em;font-weight:600;color:#b71c1c;margin-bottom:.25em}"
        ".reason:empty,.msg:empty{display:none}.head{font-size:1.05em}"
        ".msg{color:#555}.since{color:#666}summary{color:#555;cursor:pointer}"
        ".obs{font:12px ui-monospace,monospace;color:#444;white-space:pre-line}"
        ".trend polyline{fill:none;stroke:#1565c0;stroke-width:1.5}"
        ".trend-label{display:block;color:#666;font-size:11px}";
    return style;
}

const std::string& page_script() {
    // Updates the rendered page in place from /page.json: text through textContent and
    // attributes only, never HTML, so nothing in a check's message can become markup.
    static const std::string script = R"JS("use strict";
(function () {
  const svg = "http://www.w3.org/2000/svg";
  let updates = 0;
  const first = Number(document.body.dataset.incidents || -1);
  function set(row, selector, text) {
    const el = row.querySelector(selector);
    if (el) el.textContent = text;
  }
  function apply(data) {
    document.title = "vitals: " + data.status;
    const overall = document.getElementById("overall");
    overall.textContent = data.status;
    overall.style.background = data.color;
    document.getElementById("probes").textContent = data.probes;
    document.getElementById("updated").textContent = data.updated;
    for (const c of data.checks) {
      const row = document.querySelector('tr.check[data-check="' + CSS.escape(c.name) + '"]');
      if (!row) { location.reload(); return; }
      row.dataset.status = c.status;
      const badge = row.querySelector(".st");
      badge.textContent = c.badge;
      badge.style.background = c.color;
      set(row, ".since", c.since);
      set(row, ".reason", c.reason);
      set(row, ".head", c.headline);
      set(row, ".msg", c.message);
      set(row, ".more-count", c.more_count);
      set(row, ".obs", c.more);
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
    }
    document.body.dataset.updates = String(++updates);
    // A new incident: its snapshot is rendered by the server, so fetch the page once.
    if (first >= 0 && data.incidents !== first) location.reload();
  }
  function refresh() {
    fetch("/page.json", {cache: "no-store"})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) { if (data) apply(data); })
      .catch(function () { document.body.dataset.stale = "true"; });
  }
  refresh();
  setInterval(refresh, 5000);
})();
)JS";
    return script;
}

}  // namespace vitals
