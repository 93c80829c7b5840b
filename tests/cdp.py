"""Drive headless Chromium through the DevTools protocol, for tests that click, type and upload.

`--dump-dom` (tests/browser.py) reads a page; a page a person uses (sign in, choose a file, press a
button, wait for the answer) needs the browser's remote-debugging protocol. Its WebSocket is
spoken with Tornado's client, so no browser-automation package is needed.

    with Page(chromium, tmp_path) as page:
        page.open(url)
        page.run("document.querySelector('#token').value = 'abc'")
        page.upload("#file", path)
        page.wait("document.querySelector('#answer').textContent.includes('points')")
"""
from __future__ import annotations

import asyncio
import base64
import json
import re
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

import browser


class Page:
    """One tab of a headless Chromium started for the test, closed with the `with` block."""

    def __init__(self, chromium: str, tmp_path: Path):
        self.process = subprocess.Popen([chromium, *browser.FLAGS, "--remote-debugging-port=0",
                                         f"--user-data-dir={tmp_path / 'cdp-profile'}", "--window-size=1100,1400",
                                         "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            self._connect()
        except BaseException:
            self.process.kill()  # a browser that could not be reached is not left running
            self.process.wait()
            raise

    def _connect(self) -> None:
        port = None
        for line in self.process.stderr:
            if m := re.search(r"DevTools listening on ws://[^:]+:(\d+)/", line):
                port = int(m[1])
                break
        if port is None:
            raise RuntimeError(f"Chromium did not open its debugging port (exit code {self.process.poll()})")
        threading.Thread(target=self.process.stderr.read, daemon=True).start()  # a full pipe would stall it
        targets = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30).read())
        socket_url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        self.loop = asyncio.new_event_loop()
        from tornado.websocket import websocket_connect

        async def connect():
            return await websocket_connect(socket_url, max_message_size=64 << 20)

        self.socket = self.loop.run_until_complete(connect())
        self._id = 0
        self.send("Page.enable")
        self.send("Runtime.enable")

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        try:
            self.socket.close()
        finally:
            self.process.kill()
            self.process.wait()
            self.loop.close()

    def send(self, method: str, **params):
        """One protocol command; its result (events in between are skipped)."""
        self._id += 1
        ident = self._id
        async def exchange():
            await self.socket.write_message(json.dumps({"id": ident, "method": method, "params": params}))
            while True:
                raw = await asyncio.wait_for(self.socket.read_message(), 60)
                if raw is None:
                    raise RuntimeError("Chromium closed the connection")
                message = json.loads(raw)
                if message.get("id") == ident:
                    return message

        message = self.loop.run_until_complete(exchange())
        if "error" in message:
            raise RuntimeError(f"{method}: {message['error']}")
        return message["result"]

    def run(self, expression: str):
        """Evaluate JavaScript in the page; its value (promises awaited)."""
        result = self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails'].get('exception', {}).get('description')}")
        return result["result"].get("value")

    def open(self, url: str) -> None:
        self.send("Page.navigate", url=url)
        self.wait("document.readyState === 'complete'")

    def wait(self, condition: str, seconds: float = 30.0):
        """Until the JavaScript `condition` is truthy; its value."""
        deadline = time.monotonic() + seconds
        while True:
            value = self.run(condition)
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"still not true after {seconds:g} s: {condition}\n{self.text('body')}")
            time.sleep(0.1)

    def text(self, selector: str) -> str:
        return self.run(f"(document.querySelector({json.dumps(selector)}) || {{innerText: ''}}).innerText")

    def upload(self, selector: str, path: Path) -> None:
        """Choose a file in an <input type=file>, as a person's file dialog would."""
        root = self.send("DOM.getDocument")["root"]["nodeId"]
        node = self.send("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        self.send("DOM.setFileInputFiles", files=[str(path)], nodeId=node)

    def screenshot(self, path: Path) -> Path:
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"]))
        return path
