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
