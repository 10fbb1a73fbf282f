"""Headless Chromium driven over the DevTools protocol on a pipe: no browser download, no extra package.

Chromium's ``--remote-debugging-pipe`` reads NUL-terminated JSON commands on file descriptor 3 and writes
replies and events on descriptor 4, so a page can be loaded, inspected and photographed with the
standard library alone. Every request the page makes is recorded (the report must make none but
``file:`` and ``data:``), and console messages, uncaught exceptions and log entries are collected.
The network is off three times over: as root Chromium runs in a network namespace of its own (no
interface but a loopback that is down), every page is emulated offline, and host names resolve to
nothing with a proxy on a closed port.

Run as a script to photograph a page: ``python tests/report/browser.py page.html out.png [width [height]]``
(docs/report.png is made so, from the demo's report).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("VPCFLOW_CHROMIUM", "/usr/bin/chromium")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
    # nothing may leave the machine even if the page tried: every host resolves to nowhere, every proxy
    # connection goes to a closed port
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--proxy-server=http://127.0.0.1:9",
    "--remote-debugging-pipe",
)


class BrowserError(RuntimeError):
    pass


@dataclass
class PageLog:
    """What a page did while loading: requests, console messages, exceptions and log entries."""

    requests: list[str] = field(default_factory=list)
    console: list[tuple[str, str]] = field(default_factory=list)  # (type, text)
    exceptions: list[str] = field(default_factory=list)
    log_entries: list[tuple[str, str]] = field(default_factory=list)  # (level, text)

    @property
    def errors(self) -> list[str]:
        out = [f"console.{kind}: {text}" for kind, text in self.console if kind in ("error", "assert")]
        out += [f"exception: {text}" for text in self.exceptions]
        out += [f"log {level}: {text}" for level, text in self.log_entries if level == "error"]
        return out


def _can_isolate() -> bool:
    """Whether Chromium can run in a network namespace of its own (root with util-linux's unshare):
    then it has no network at all, not even loopback, besides the offline emulation."""
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "--net", "--", "true"], capture_output=True).returncode == 0


class Browser:
    """One headless Chromium; ``open`` loads a page in a fresh tab with the network emulated offline."""

    def __init__(self, executable: str = CHROMIUM) -> None:
        if not Path(executable).exists():
            raise BrowserError(f"{executable} is missing: install Debian's chromium (apt-get install -y chromium).")
        self._profile = tempfile.mkdtemp(prefix="vpcflow-chromium-")
        # Chromium's own log, for debugging a test: VPCFLOW_CHROMIUM_LOG=/tmp/chromium.log
        self._stderr = open(os.environ.get("VPCFLOW_CHROMIUM_LOG", os.devnull), "ab")  # noqa: SIM115
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire_fds() -> None:  # runs in the child between fork and exec
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        self.isolated = _can_isolate()
        isolate = ["unshare", "--net", "--"] if self.isolated else []
        self._proc = subprocess.Popen(
            [*isolate, executable, *FLAGS, f"--user-data-dir={self._profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._stderr,
            preexec_fn=wire_fds,
            pass_fds=(3, 4),  # the descriptors wire_fds made; the rest are closed
        )
        os.close(to_child_r)
        os.close(from_child_w)
        self._next_id = 0
        self._lock = threading.Lock()
        self._replies: dict[int, dict[str, Any]] = {}
        self._events: list[dict[str, Any]] = []
        self._cond = threading.Condition(self._lock)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    # -- protocol -------------------------------------------------------------------------------
    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_child, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                with self._cond:
                    self._cond.notify_all()
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                message = json.loads(raw)
                with self._cond:
                    if "id" in message:
                        self._replies[message["id"]] = message
                    else:
                        self._events.append(message)
                    self._cond.notify_all()

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        with self._lock:
            self._next_id += 1
            ident = self._next_id
        message: dict[str, Any] = {"id": ident, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 60
        with self._cond:
            while ident not in self._replies:
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    raise BrowserError(f"Chromium did not answer {method}.")
                self._cond.wait(timeout=0.5)
            reply = self._replies.pop(ident)
        if "error" in reply:
            raise BrowserError(f"{method}: {reply['error'].get('message')}")
        result: dict[str, Any] = reply.get("result", {})
        return result

    def _wait_event(self, method: str, session: str, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self._events:
                    if event.get("method") == method and event.get("sessionId") == session:
                        self._events.remove(event)
                        return event
                if time.monotonic() > deadline:
                    raise BrowserError(f"no {method} within {timeout} s")
                self._cond.wait(timeout=0.2)

    def _drain_log(self, session: str, log: PageLog) -> None:
        with self._lock:
            mine = [e for e in self._events if e.get("sessionId") == session]
            self._events = [e for e in self._events if e.get("sessionId") != session]
        for event in mine:
            params = event.get("params", {})
            method = event.get("method")
            if method == "Network.requestWillBeSent":
                log.requests.append(params["request"]["url"])
            elif method == "Runtime.consoleAPICalled":
                text = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
                log.console.append((params.get("type", ""), text))
            elif method == "Runtime.exceptionThrown":
                details = params.get("exceptionDetails", {})
                log.exceptions.append(str(details.get("exception", {}).get("description") or details.get("text")))
            elif method == "Log.entryAdded":
                entry = params.get("entry", {})
                log.log_entries.append((entry.get("level", ""), f"{entry.get('text', '')} {entry.get('url', '')}"))

    # -- pages ----------------------------------------------------------------------------------
    def open(self, url: str, width: int = 1280, height: int = 900, settle: float = 1.0) -> Page:
        """Load ``url`` offline, wait for the load event and ``settle`` seconds more; the page's log follows."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(f"{domain}.enable", session=session)
        self.send(
            "Network.emulateNetworkConditions",
            {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
            session=session,
        )
        self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
            session=session,
        )
        self.send("Page.navigate", {"url": url}, session=session)
        self._wait_event("Page.loadEventFired", session, timeout=60)
        time.sleep(settle)
        page = Page(self, session)
        self._drain_log(session, page.log)
        return page

    def close(self) -> None:
        try:
            if self._proc.poll() is None:
                with contextlib.suppress(BrowserError):
                    self.send("Browser.close")
                try:
                    self._proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self._proc.kill()
                    self._proc.wait()
        finally:
            os.close(self._to_child)
            self._stderr.close()
            shutil.rmtree(self._profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Page:
    def __init__(self, browser: Browser, session: str) -> None:
        self.browser = browser
        self.session = session
        self.log = PageLog()

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression (awaited when it is a promise)."""
        reply = self.browser.send(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            session=self.session,
        )
        if "exceptionDetails" in reply:
            raise BrowserError(f"{expression[:60]}…: {reply['exceptionDetails'].get('text')}")
        self.browser._drain_log(self.session, self.log)
        return reply.get("result", {}).get("value")

    def screenshot(self, full_page: bool = True) -> bytes:
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            metrics = self.browser.send("Page.getLayoutMetrics", session=self.session)
            size = metrics.get("cssContentSize") or metrics["contentSize"]
            params["clip"] = {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}
        data = self.browser.send("Page.captureScreenshot", params, session=self.session)["data"]
        return base64.b64decode(data)


def main(argv: list[str]) -> int:
    """``page.html out.png [width [height]]``: the whole page, or only its first ``height`` pixels."""
    html, png = Path(argv[0]).resolve(), Path(argv[1])
    width = int(argv[2]) if len(argv) > 2 else 1280
    height = int(argv[3]) if len(argv) > 3 else 0
    with Browser() as browser:
        page = browser.open(html.as_uri(), width=width, height=height or 900, settle=2.0)
        png.write_bytes(page.screenshot(full_page=not height))
        for error in page.log.errors:
            print(error, file=sys.stderr)
    return 1 if page.log.errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
