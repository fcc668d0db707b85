#!/usr/bin/python3
"""Looks at vitals' status page in a real headless Chromium, as a person would, through the
DevTools protocol (python3-websocket), and prints what it measured as JSON lines.

    page_probe.py URL SHOTS_DIR STOP_FILE

1. For each of a 1400 px and a 430 px wide window, light and dark scheme: the rows in page
   order with their status and group badges, the page's width against the window's (no
   horizontal overflow), the contrast of every badge from its rendered colours (WCAG's
   formula), folds with nothing in them, the pod line; a screenshot of each in SHOTS_DIR.
   Printed as one line {"views": [...]}.
2. Then waits for STOP_FILE to exist (the test stops vitals and creates it), and for the
   page's "disconnected" banner to show: printed as {"banner": text, "after_seconds": s}.

Evaluating through DevTools is not subject to the page's CSP, so the page needs no hook.
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

import websocket

MEASURE = r"""
(function () {
  function rgb(text) {
    const m = text.match(/rgba?\(([^)]+)\)/);
    const p = m ? m[1].split(",").map(Number) : [0, 0, 0, 0];
    return {r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1};
  }
  function visible(el) { return el.getClientRects().length > 0; }
  const badges = [];
  for (const el of document.querySelectorAll(".st, .grp")) {
    if (!visible(el)) continue;
    const style = getComputedStyle(el);
    badges.push({text: el.textContent, fg: rgb(style.color), bg: rgb(style.backgroundColor)});
  }
  const rows = [];
  for (const row of document.querySelectorAll("tr.check")) {
    rows.push({name: row.dataset.check, status: row.dataset.status, hidden: row.hidden,
               groups: Array.from(row.querySelectorAll(".grp")).map(g => g.textContent),
               name_link: row.querySelector("a.name").getAttribute("href"),
               kind_link: row.querySelector("a.kind").getAttribute("href")});
  }
  const emptyFolds = Array.from(document.querySelectorAll("details.more")).filter(
    d => visible(d) && d.querySelector(".obs").textContent.trim() === "").length;
  const id = document.getElementById("id-pod");
  return JSON.stringify({
    updates: Number(document.body.dataset.updates),
    scroll_width: document.documentElement.scrollWidth,
    window_width: window.innerWidth,
    pod: id ? id.textContent : "",
    title: document.title,
    rows: rows, badges: badges, empty_folds: emptyFolds,
    body_bg: rgb(getComputedStyle(document.body).backgroundColor),
  });
})()
"""

BANNER = r"""
(function () {
  const b = document.getElementById("disconnected");
  return JSON.stringify({shown: !b.hidden && b.getClientRects().length > 0,
                         text: b.textContent, stale: document.body.dataset.stale || ""});
})()
"""


class Tab:
    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=30)
        self.next_id = 0

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def wait_for(self, expression, limit):
        until = time.monotonic() + limit
        while time.monotonic() < until:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.1)
        return None


def start_chromium(profile):
    process = subprocess.Popen(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
         "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    port_file = os.path.join(profile, "DevToolsActivePort")
    until = time.monotonic() + 60
    while time.monotonic() < until:
        if os.path.exists(port_file):
            lines = open(port_file).read().split("\n")
            if len(lines) >= 2 and lines[0].strip():
                port = int(lines[0])
                for _ in range(100):
                    try:
                        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as r:
                            for target in json.load(r):
                                if target.get("type") == "page":
                                    return process, target["webSocketDebuggerUrl"]
                    except OSError:
                        pass
                    time.sleep(0.1)
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("chromium did not open its DevTools port")


def luminance(c):
    def channel(v):
        v /= 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
    return 0.2126 * channel(c["r"]) + 0.7152 * channel(c["g"]) + 0.0722 * channel(c["b"])


def contrast(fg, bg):
    a, b = sorted((luminance(fg), luminance(bg)), reverse=True)
    return round((a + 0.05) / (b + 0.05), 2)


def view(tab, url, width, scheme, shots):
    tab.call("Emulation.setDeviceMetricsOverride", width=width, height=900,
             deviceScaleFactor=1, mobile=width < 700)
    tab.call("Emulation.setEmulatedMedia",
             features=[{"name": "prefers-color-scheme", "value": scheme}])
    tab.call("Page.navigate", url=url)
    # /page.js has fetched /page.json and updated the page at least once.
    tab.wait_for("document.body && Number(document.body.dataset.updates) >= 1", 20)
    seen = json.loads(tab.evaluate(MEASURE))
    for badge in seen["badges"]:
        # A badge with no background of its own sits on the page's.
        bg = badge["bg"] if badge["bg"]["a"] > 0 else seen["body_bg"]
        badge["contrast"] = contrast(badge["fg"], bg)
    shot = os.path.join(shots, f"page-{width}-{scheme}.png")
    with open(shot, "wb") as f:
        f.write(base64.b64decode(tab.call("Page.captureScreenshot", format="png")["data"]))
    seen.update({"width": width, "scheme": scheme, "screenshot": shot})
    return seen


def main():
    url, shots, stop_file = sys.argv[1:4]
    profile = tempfile.mkdtemp(prefix="vitals-chromium-")
    process = None
    try:
        process, ws_url = start_chromium(profile)
        tab = Tab(ws_url)
        tab.call("Page.enable")
        views = [view(tab, url, width, scheme, shots)
                 for width, scheme in ((1400, "light"), (430, "light"), (1400, "dark"))]
        print(json.dumps({"views": views}), flush=True)
        # The test stops vitals now; the page, left open, must say so.
        until = time.monotonic() + 60
        while not os.path.exists(stop_file) and time.monotonic() < until:
            time.sleep(0.05)
        stopped = time.monotonic()
        seen = tab.wait_for(f"JSON.parse({BANNER}).shown && {BANNER}", 30)
        banner = json.loads(seen) if seen else {
            "shown": False, "text": "", "stale": "",
            "page": tab.evaluate("location.href + ' ' + document.title + ' ' + "
                                 "(document.body ? document.body.innerText.slice(0, 200) : '')")}
        banner["after_seconds"] = round(time.monotonic() - stopped, 1)
        with open(os.path.join(shots, "page-disconnected.png"), "wb") as f:
            f.write(base64.b64decode(tab.call("Page.captureScreenshot", format="png")["data"]))
        print(json.dumps({"banner": banner}), flush=True)
    finally:
        if process:
            process.kill()
            process.wait()
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
