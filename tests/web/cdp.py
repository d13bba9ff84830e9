"""A headless Chromium driven over the DevTools protocol, with aiohttp's websocket client
(aiohttp comes with textual-serve, so the web tests need nothing more).

``Browser.start()`` runs ``chromium --headless --remote-debugging-port=0`` in a temporary
profile and reads the port it chose from ``DevToolsActivePort``; ``Page`` sends commands
and waits for their answers. ``TERMINAL_HOOK`` runs before the page's own scripts and
keeps textual-serve's xterm.js ``Terminal`` in ``window.__vmtopTerm`` (the page does not
expose it: its renderer draws on a canvas, so the text is not in the DOM), so that
``screen_text()`` can read what the terminal shows, cell by cell.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import aiohttp

TERMINAL_HOOK = """
Object.defineProperty(Object.prototype, "terminal", {
  configurable: true,
  get() { return undefined; },
  set(value) {
    Object.defineProperty(this, "terminal", {
      value, writable: true, configurable: true, enumerable: true,
    });
    if (value && value.buffer && !window.__vmtopTerm) window.__vmtopTerm = value;
  },
});
"""

SCREEN_TEXT = """
(() => {
  const t = window.__vmtopTerm;
  if (!t) return null;
  const b = t.buffer.active;
  const out = [];
  for (let y = 0; y < t.rows; y++) {
    const line = b.getLine(b.viewportY + y);
    out.push(line ? line.translateToString(true) : "");
  }
  return out.join("\\n");
})()
"""


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    def __init__(self, binary: str, width: int = 1400, height: int = 900) -> None:
        self.binary = binary
        self.size = (width, height)
        self.profile = tempfile.mkdtemp(prefix="vmtop-chromium-")
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None

    def start(self, timeout: float = 30.0) -> None:
        width, height = self.size
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--headless",
                "--no-sandbox",  # CI runs as root, where the sandbox cannot start
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--disable-dev-shm-usage",
                f"--window-size={width},{height}",
                f"--user-data-dir={self.profile}",
                "--remote-debugging-address=127.0.0.1",
                "--remote-debugging-port=0",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        active = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chromium exited with status {self.proc.returncode}")
            try:
                self.port = int(active.read_text().splitlines()[0])
                return
            except (OSError, ValueError, IndexError):
                time.sleep(0.1)
        raise RuntimeError("chromium did not open its DevTools port")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    async def page(self, session: aiohttp.ClientSession) -> Page:
        async with session.get(f"http://127.0.0.1:{self.port}/json/list") as response:
            targets = await response.json(content_type=None)
        target = next(t for t in targets if t.get("type") == "page")
        ws = await session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
        return Page(ws)


class Page:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.ids = itertools.count(1)

    async def send(self, method: str, **params):
        call_id = next(self.ids)
        await self.ws.send_str(json.dumps({"id": call_id, "method": method, "params": params}))
        async for message in self.ws:
            data = json.loads(message.data)
            if data.get("id") == call_id:
                if "error" in data:
                    raise RuntimeError(f"{method}: {data['error']}")
                return data.get("result", {})
        raise RuntimeError("the DevTools connection closed")

    async def evaluate(self, expression: str):
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    async def screen_text(self) -> str:
        return await self.evaluate(SCREEN_TEXT) or ""

    async def wait_for_text(self, *needles: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = await self.screen_text()
            if all(n in text for n in needles):
                return text
            await asyncio.sleep(0.25)
        raise AssertionError(f"the page never showed {needles!r}; it showed:\n{text}")

    async def key(self, key: str, text: str | None = None, code: int = 0) -> None:
        params = {"key": key, "windowsVirtualKeyCode": code, "nativeVirtualKeyCode": code}
        if text is not None:
            params["text"] = text
        await self.send("Input.dispatchKeyEvent", type="keyDown", **params)
        await self.send("Input.dispatchKeyEvent", type="keyUp", key=key)

    async def type_text(self, text: str) -> None:
        for ch in text:
            await self.key(ch, ch, ord(ch.upper()) if ch.isalnum() else 0)

    async def enter(self) -> None:
        await self.key("Enter", "\r", 13)

    async def click_text(self, needle: str, line_hint: str = "") -> None:
        """A real mouse click on the first cell of ``needle`` on the screen (on the first
        line that also holds ``line_hint``)."""
        text = await self.screen_text()
        found = [
            (y, line.index(needle))
            for y, line in enumerate(text.splitlines())
            if needle in line and line_hint in line
        ]
        assert found, f"{needle!r} is not on the screen:\n{text}"
        row, column = found[0]
        left, top, cell_w, cell_h = await self.evaluate(
            "(() => { const t = window.__vmtopTerm;"
            " const r = t.element.querySelector('.xterm-screen').getBoundingClientRect();"
            " return [r.left, r.top, r.width / t.cols, r.height / t.rows]; })()"
        )
        x, y = left + (column + 0.5) * cell_w, top + (row + 0.5) * cell_h
        await self.send("Input.dispatchMouseEvent", type="mouseMoved", x=x, y=y)
        for kind in ("mousePressed", "mouseReleased"):
            await self.send(
                "Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1
            )

    async def screenshot(self, path: Path) -> None:
        result = await self.send("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(result["data"]))
