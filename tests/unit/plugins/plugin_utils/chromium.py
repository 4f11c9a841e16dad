# -*- coding: utf-8 -*-
# Copyright: fleetsec.divest contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper: Debian's headless chromium, for the report pages.

* :func:`run` starts chromium once with extra arguments (``--dump-dom``, ``--screenshot``);
* :class:`DevTools` drives one chromium over the DevTools protocol (``--remote-debugging-pipe``):
  open a page, evaluate JavaScript in it, click, type;
* :func:`csp_violations` finds Content-Security-Policy complaints in chromium's log.

Used by the browser tests (``pytest -m browser``) and by tests/bench/pages_bench.py. Only the
standard library.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time

CHROMIUM = shutil.which("chromium")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--enable-logging=stderr", "--v=0"]


def run(args, profile, timeout=90):
    """Run chromium once with ``args`` and a fresh profile directory ``profile``."""
    cmd = [CHROMIUM] + FLAGS + ["--user-data-dir=%s" % profile] + list(args)
    return subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)


def csp_violations(stderr):
    """The lines of chromium's log that report a Content-Security-Policy violation."""
    return [line for line in stderr.decode("utf-8", "replace").splitlines()
            if "Content Security Policy" in line or "Refused to" in line]


class DevTools(object):
    """Minimal Chrome DevTools Protocol client over --remote-debugging-pipe (fds 3 and 4)."""

    def __init__(self, profile, window="1280,1600"):
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire():
            # In the child, before exec: chromium reads commands from fd 3 and writes to fd 4.
            # Go through high descriptors so that one dup2 cannot clobber the other pipe end.
            high_r = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 100)
            high_w = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 100)
            os.dup2(high_r, 3)  # dup2 makes 3 and 4 inheritable
            os.dup2(high_w, 4)

        cmd = [CHROMIUM] + FLAGS + ["--user-data-dir=%s" % profile, "--remote-debugging-pipe",
                                    "--window-size=%s" % window, "about:blank"]
        # close_fds would close 3 and 4 after wire(); the other pipe ends are close-on-exec anyway
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, preexec_fn=wire, close_fds=False)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buffer = b""
        self._id = 0
        self.session = None

    def call(self, method, session=None, **params):
        self._id += 1
        message = {"id": self._id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_chrome, json.dumps(message).encode("utf-8") + b"\0")
        while True:
            while b"\0" not in self._buffer:
                chunk = os.read(self._from_chrome, 1 << 20)
                if not chunk:
                    raise RuntimeError("chromium closed the DevTools pipe")
                self._buffer += chunk
            raw, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError("%s: %s" % (method, reply["error"]))
                return reply.get("result", {})

    def evaluate(self, expression, session=None):
        """The value of ``expression`` (a promise is awaited) in the page of ``session``
        (default: the one :meth:`open` attached to)."""
        result = self.call("Runtime.evaluate", session or self.session, expression=expression, awaitPromise=True,
                           returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(result["exceptionDetails"])
        return result["result"].get("value")

    def open(self, url, ready="document.readyState === 'complete'", timeout=300):
        """Open ``url`` in a new tab, wait until ``ready`` is true there; return the seconds from
        the navigation to the first frame painted after that."""
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        start = time.perf_counter()
        self.call("Page.navigate", self.session, url=url)
        deadline = start + timeout
        done = False
        while not done:
            try:
                done = self.evaluate("!!(location.href !== 'about:blank' && (%s))" % ready)
            except RuntimeError as exc:  # the navigation is still replacing the execution context
                if "context" not in str(exc):
                    raise
            if not done:
                if time.perf_counter() > deadline:
                    raise RuntimeError("%s did not load in %d s" % (url, timeout))
                time.sleep(0.02)
        self.evaluate("new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
        return time.perf_counter() - start

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:  # pylint: disable=broad-exception-caught
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)
