"""Headless Chromium driven over the DevTools protocol, to check report.html as a person sees it.

Why the DevTools protocol and ``websocket-client``: it is the only honest way to see what the
page *does* (every network request, script exception and console error is an event), it needs
no second binary matched to the browser's version (chromedriver), and the client is one small
pure-Python package. Chromium is Debian's, installed by scripts/install-system-deps.sh.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",  # tests run as root in CI; the sandbox refuses to start as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",  # Chromium picks a free port and writes it to DevToolsActivePort
    "--window-size=1280,1600",
)
REQUIRE_ENV = "ESR1CALLS_REQUIRE_CHROMIUM"


def find_chromium() -> str:
    """The Chromium binary, or skip (fail when ESR1CALLS_REQUIRE_CHROMIUM=1, as in `make test`)."""
    for candidate in (
        "/usr/bin/chromium",
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    message = "chromium is not installed; run scripts/install-system-deps.sh (make test does)"
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {message}")
    pytest.skip(message)


class Page:
    """One DevTools session on a page target: send commands, collect every event."""

    def __init__(self, ws_url: str) -> None:
        import websocket  # websocket-client

        # suppress_origin: Chromium refuses DevTools websockets that carry an Origin header
        self._ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self._next_id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._next_id += 1
        message_id = self._next_id
        self._ws.send(json.dumps({"id": message_id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv())
            if message.get("id") == message_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def wait_for(self, event: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen = len(self.events)
        while time.monotonic() < deadline:
            for message in self.events[seen:]:
                if message.get("method") == event:
                    return message
            seen = len(self.events)
            self._ws.settimeout(max(0.1, deadline - time.monotonic()))
            self.events.append(json.loads(self._ws.recv()))
        raise TimeoutError(event)

    def evaluate(self, expression: str) -> Any:
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def named(self, method: str) -> list[dict[str, Any]]:
        return [e.get("params", {}) for e in self.events if e.get("method") == method]

    def close(self) -> None:
        self._ws.close()


@contextmanager
def chromium_page(profile_dir: Path) -> Iterator[Page]:
    """Start headless Chromium with a fresh profile and attach to its blank page."""
    binary = find_chromium()
    process = subprocess.Popen(
        [binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile_dir}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    page: Page | None = None
    try:
        port_file = profile_dir / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not start (exit code {process.poll()})")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
            targets = json.load(reply)
        target = next(t for t in targets if t.get("type") == "page")
        page = Page(target["webSocketDebuggerUrl"])
        yield page
    finally:
        if page is not None:
            page.close()
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)


def load_report(page: Page, path: Path) -> None:
    """Enable the event domains, then navigate and wait for the load event."""
    for domain in ("Page", "Runtime", "Network", "Log"):
        page.send(f"{domain}.enable")
    page.send("Page.navigate", url=path.resolve().as_uri())
    page.wait_for("Page.loadEventFired")
    # let late events (a deferred fetch, a console error) arrive before the checks
    page.evaluate("new Promise(r => setTimeout(r, 300)).then(() => true)")


# What a reader cannot read: text that overflows its cell or box, or is clipped, and text whose
# colour is below WCAG's 4.5:1 against what is drawn behind it. HTML text is held against the
# first opaque background up its ancestors (semi-transparent ones blended in); SVG text against
# the last shape drawn under its centre (a plate-map well), else the SVG's own background.
_LAYOUT_CHECK = r"""
(() => {
  const parse = (css) => {
    const m = /rgba?\(([^)]+)\)/.exec(css || "");
    if (!m) return null;
    const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number);
    return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 };
  };
  const channel = (v) => {
    v /= 255;
    return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
  };
  const lum = (c) => 0.2126 * channel(c.r) + 0.7152 * channel(c.g) + 0.0722 * channel(c.b);
  const ratio = (a, b) => {
    const [dark, light] = [lum(a), lum(b)].sort((x, y) => x - y);
    return (light + 0.05) / (dark + 0.05);
  };
  const over = (top, under) => ({
    r: top.r * top.a + under.r * (1 - top.a), g: top.g * top.a + under.g * (1 - top.a),
    b: top.b * top.a + under.b * (1 - top.a), a: 1,
  });
  const white = { r: 255, g: 255, b: 255, a: 1 };
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = parse(getComputedStyle(e).backgroundColor);
      if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
    }
    return layers.reverse().reduce((under, top) => over(top, under), white);
  };
  const hex = (c) => "#" + [c.r, c.g, c.b]
    .map((v) => Math.round(v).toString(16).padStart(2, "0")).join("");
  const shown = (el) => el.getClientRects().length > 0
    && getComputedStyle(el).visibility !== "hidden";
  const label = (el, text) => `${el.tagName.toLowerCase()}: ${text.trim().slice(0, 60)}`;
  const contrast = [];
  const overflow = [];
  const judge = (el, text, ink, bg) => {
    const r = ratio(ink, bg);
    if (r < 4.5) contrast.push({
      where: label(el, text), ink: hex(ink), background: hex(bg), ratio: +r.toFixed(2),
    });
  };
  let texts = 0;
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.textContent.trim() || !el || !shown(el)) continue;
    if (el.closest("svg, style, script, title")) continue;
    texts += 1;
    const bg = background(el);
    judge(el, node.textContent, over(parse(getComputedStyle(el).color), bg), bg);
  }
  for (const t of document.querySelectorAll("svg text")) {
    if (!shown(t) || !t.textContent.trim()) continue;
    texts += 1;
    const svg = t.ownerSVGElement;
    const box = t.getBBox();
    const cx = box.x + box.width / 2, cy = box.y + box.height / 2;
    let under = null, well = null;
    for (const shape of svg.querySelectorAll("rect")) {
      if (shape.compareDocumentPosition(t) & Node.DOCUMENT_POSITION_PRECEDING) break;
      const b = shape.getBBox();
      const fill = parse(getComputedStyle(shape).fill);
      const inside = cx >= b.x && cx <= b.x + b.width && cy >= b.y && cy <= b.y + b.height;
      if (fill && fill.a > 0 && inside) { under = fill; well = b; }
    }
    const bg = under ? over(under, background(svg)) : background(svg);
    judge(t, t.textContent, over(parse(getComputedStyle(t).fill), bg), bg);
    // a label wider than the well it is drawn on, or cut off at the chart's edge
    const bounds = svg.viewBox.baseVal;
    if (box.x < bounds.x - 0.5 || box.x + box.width > bounds.x + bounds.width + 0.5)
      overflow.push({ where: label(t, t.textContent), what: "outside its chart" });
    else if (well && (box.x < well.x - 0.5 || box.x + box.width > well.x + well.width + 0.5))
      overflow.push({ where: label(t, t.textContent), what: "wider than the shape under it" });
  }
  const boxes = "td, th, dd, dt, caption, figcaption, p, li, h1, h2, h3, h4, summary, .badge";
  for (const el of document.querySelectorAll(boxes)) {
    if (!shown(el) || el.clientWidth === 0 || el.scrollWidth <= el.clientWidth + 1) continue;
    const what = `content ${el.scrollWidth}px in ${el.clientWidth}px`;
    overflow.push({ where: label(el, el.textContent), what });
  }
  const page = document.querySelector("main").getBoundingClientRect();
  for (const el of document.querySelectorAll("table, figure, svg, dl, section")) {
    if (!shown(el)) continue;
    const box = el.getBoundingClientRect();
    if (box.right <= page.right + 1 && box.left >= page.left - 1) continue;
    const what = `${Math.round(box.left)}-${Math.round(box.right)}px, the page `
      + `${Math.round(page.left)}-${Math.round(page.right)}px`;
    overflow.push({ where: label(el, el.textContent), what });
  }
  return { texts, contrast, overflow };
})()
"""


def layout_problems(page: Page, *, open_details: bool = True) -> dict[str, Any]:
    """Every text that overflows its box or reads below 4.5:1, as Chromium lays the page out;
    with ``open_details`` the folded parts (thresholds, wells tables) are opened first."""
    if open_details:
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true), true")
    result: dict[str, Any] = page.evaluate(_LAYOUT_CHECK)
    return result
