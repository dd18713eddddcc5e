"""Open the built site in headless Chromium and check what a reader would see.

Usage::

    python docs/check_site.py docs/_build/html [--screenshots DIR] [--require-browser]

The build folder is served over HTTP on localhost (nothing else is reached). Each page is
loaded through the Chrome DevTools protocol (the ``websockets`` package of the ``docs``
extra), and the check fails if a page

* logs a console error or throws an uncaught exception,
* fails to load a resource (a 404, a blocked request, a CDN the build should not need),
* misses its figures (images that did not load count as missing),
* leaves math unrendered (MathJax is served from the build, so it must typeset offline),
* has a title (or a "previous/next" link) wider than its column,
* on the landing page and the quick start: has a code block that scrolls sideways, or
  shows the landing figure shrunk below 3/4 of its size (its text would be too small
  to read; ``tests/test_gallery.py`` keeps the figure's text at 10 pt or more).

Every page is opened twice, in a desktop window 1400 pixels wide and a phone's 400 pixels
(``--screenshots DIR`` saves ``PAGE@1400.png`` and ``PAGE@400.png``). Checked pages: the
landing page, the quick start, the API pages of ``tree_isotonic_regression`` and of its
JAX adapter (the longest title), the mathematics and benchmarks pages and every gallery
example. Without a Chromium binary (``chromium``,
``chromium-browser``, ``google-chrome`` or the ``CHROMIUM`` environment variable) the check
prints why and exits 0, or exits 1 with ``--require-browser``.
"""

import argparse
import base64
import functools
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PAGE_TIMEOUT = 30.0  # seconds to load and typeset one page
# (width, height, mobile): a desktop browser window and a phone held upright.
WINDOWS = ((1400, 900, False), (400, 800, True))
# The landing figure must be shown at 3/4 of its size or more: drawn with 10 pt text at
# 100 dpi, that is 10 CSS pixels or more on screen.
FIGURE_SCALE = 0.75
# Expectations that are checks to run, not minimum counts (see pages_to_check).
FLAGS = ("code_fits", "figure_readable")

# JavaScript run in each page once it has loaded: what a reader would see.
INSPECT = """
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    await MathJax.startup.promise;
  }
  const images = [...document.querySelectorAll("article img")];
  const titles = [...document.querySelectorAll("article h1, .prev-next-title")];
  const math = [...document.querySelectorAll("article .math")];
  return {
    images: images.length,
    images_loaded: images.filter(i => i.complete && i.naturalWidth > 0).length,
    gallery_figures: document.querySelectorAll(
      "article img.sphx-glr-single-img, article img.sphx-glr-multi-img").length,
    cards: document.querySelectorAll(".sd-card").length,
    math: math.length,
    math_typeset: math.filter(m => m.querySelector("mjx-container")).length,
    // Cut off: wider than itself (scrolls) or than the box that clips it (a link, for
    // "previous/next"; the section, for a title).
    titles_cut: titles.filter(t => t.scrollWidth > t.clientWidth + 1
                                   || t.getBoundingClientRect().right
                                      > (t.closest("a") || t.parentElement)
                                          .getBoundingClientRect().right + 1)
                      .map(t => t.textContent.trim()),
    // Code blocks a reader must scroll sideways: their first line, to name them.
    code_scrolls: [...document.querySelectorAll("article pre")]
                    .filter(p => p.scrollWidth > p.clientWidth + 1)
                    .map(p => p.textContent.trim().split("\\n")[0].slice(0, 60)),
    // The landing figure: on-screen width over the picture's own width (1x source).
    figure_scale: [...document.querySelectorAll(".landing-figure img")]
                    .filter(i => i.naturalWidth > 0)
                    .map(i => i.getBoundingClientRect().width / i.naturalWidth),
  };
})()
"""


def find_browser():
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser",
                      "google-chrome"):
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    return None


class QuietHandler(SimpleHTTPRequestHandler):
    """Serves the build; remembers every request that failed (a reader's broken link)."""

    failures = []

    def log_message(self, format, *args):
        pass

    def send_error(self, code, message=None, explain=None):
        if not self.path.endswith("favicon.ico"):  # the browser asks for it unprompted
            self.failures.append(f"HTTP {code} for {self.path}")
        super().send_error(code, message, explain)

    def handle(self):
        try:
            super().handle()
        except ConnectionError:  # a tab closed before its last answer: not a page problem
            pass


class DevTools:
    """A minimal Chrome DevTools protocol client over one open websocket."""

    def __init__(self, socket):
        self.socket = socket
        self.next_id = 0
        self.events = []

    def call(self, method, session=None, **params):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        self.socket.send(json.dumps(message))
        deadline = time.monotonic() + PAGE_TIMEOUT
        while True:
            reply = self._receive(deadline, method)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self.events.append(reply)

    def wait_for(self, event, session):
        deadline = time.monotonic() + PAGE_TIMEOUT
        while True:
            reply = self._receive(deadline, event)
            self.events.append(reply)
            if reply.get("method") == event and reply.get("sessionId") == session:
                return

    def _receive(self, deadline, waiting_for):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no answer to {waiting_for} within {PAGE_TIMEOUT:.0f} s")
        return json.loads(self.socket.recv(timeout=remaining))


def problems_in(events, session):
    """Console errors, exceptions and failed loads among one page's DevTools events."""
    found = []
    for event in events:
        if event.get("sessionId") != session:
            continue
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            found.append(f"uncaught exception: {text}")
        elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in params["args"])
            found.append(f"console.{params['type']}: {text}")
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            if not entry.get("url", "").endswith("favicon.ico"):
                found.append(f"console error: {entry['text']} {entry.get('url', '')}".strip())
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            found.append(f"failed to load a resource: {params.get('errorText')}")
    return found


def check_page(tools, base_url, page, expect, screenshots, window):
    """Load one page in a fresh tab of the given window; return a list of problems (empty
    when all is well) and what the page showed."""
    width, height, mobile = window
    target = tools.call("Target.createTarget", url="about:blank")["targetId"]
    session = tools.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    for domain in ("Page", "Runtime", "Log", "Network"):
        tools.call(f"{domain}.enable", session)
    tools.call("Emulation.setDeviceMetricsOverride", session, width=width, height=height,
               deviceScaleFactor=1, mobile=mobile)
    tools.events.clear()
    tools.call("Page.navigate", session, url=f"{base_url}/{page}")
    tools.wait_for("Page.loadEventFired", session)
    result = tools.call("Runtime.evaluate", session, expression=INSPECT, awaitPromise=True,
                        returnByValue=True)
    if "exceptionDetails" in result:
        raise RuntimeError(f"{page}: the page inspection failed: {result['exceptionDetails']}")
    seen = result["result"]["value"]
    found = problems_in(tools.events, session)
    if seen["images_loaded"] < seen["images"]:
        found.append(f"{seen['images'] - seen['images_loaded']} image(s) did not load")
    for key, minimum in expect.items():
        if key not in FLAGS and seen[key] < minimum:
            found.append(f"expected at least {minimum} {key.replace('_', ' ')}, found "
                         f"{seen[key]}")
    if seen["math_typeset"] < seen["math"]:
        found.append(f"{seen['math'] - seen['math_typeset']} of {seen['math']} formulas "
                     "not typeset by MathJax")
    for title in seen["titles_cut"]:
        found.append(f"title wider than its column (cut off): {title!r}")
    if expect.get("code_fits"):
        for line in seen["code_scrolls"]:
            found.append(f"code block scrolls sideways: {line!r}")
    if expect.get("figure_readable"):
        if not seen["figure_scale"]:
            found.append("the landing figure is missing")
        for scale in seen["figure_scale"]:
            if scale < FIGURE_SCALE:
                found.append(f"the landing figure is shown at {scale:.2f} of its size (text "
                             f"too small to read; at least {FIGURE_SCALE} expected)")
    if screenshots:
        shot = tools.call("Page.captureScreenshot", session, format="png",
                          captureBeyondViewport=False)
        name = page.replace("/", "_").removesuffix(".html") + f"@{width}.png"
        (Path(screenshots) / name).write_bytes(base64.b64decode(shot["data"]))
    tools.call("Target.closeTarget", targetId=target)
    return found, seen


def pages_to_check(site):
    """(page, expectations) for every page the check opens: minimum counts, and the
    flags ``code_fits`` (no code block scrolls sideways) and ``figure_readable``."""
    pages = [
        ("index.html", {"images_loaded": 1, "cards": 5, "code_fits": True,
                        "figure_readable": True}),
        ("quickstart.html", {"code_fits": True}),
        ("generated/isotree.tree_isotonic_regression.html", {"images_loaded": 1, "math": 1}),
        # The longest title, between two more long ones ("previous" and "next" links).
        ("generated/isotree.jax.tree_isotonic_regression.html", {}),
        ("mathematics.html", {"math": 5}),
        ("benchmarks.html", {"images_loaded": 1}),
    ]
    examples = sorted(site.glob("auto_examples/**/plot_*.html"))
    if not examples:
        raise SystemExit(f"no gallery example pages under {site / 'auto_examples'}")
    pages += [(str(p.relative_to(site)), {"gallery_figures": 1}) for p in examples]
    return pages


def start_browser(browser, profile):
    # Nothing but the local server is reached: no updates, sync or background requests.
    command = [browser, "--headless", "--no-sandbox", "--disable-gpu",
               "--disable-dev-shm-usage", "--no-first-run", "--disable-quic",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--remote-debugging-port=0", f"--user-data-dir={profile}",
               "about:blank"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    port_file = Path(profile) / "DevToolsActivePort"
    deadline = time.monotonic() + PAGE_TIMEOUT
    while not port_file.exists() or len(port_file.read_text().splitlines()) < 2:
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            error = process.stderr.read().decode(errors="replace")[-2000:]
            raise SystemExit(f"Chromium did not start ({browser}):\n{error}")
        time.sleep(0.1)
    port, path = port_file.read_text().splitlines()[:2]
    return process, f"ws://127.0.0.1:{port}{path}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path, help="the HTML build folder")
    parser.add_argument("--screenshots", help="save a screenshot of every page here")
    parser.add_argument("--require-browser", action="store_true",
                        help="fail instead of skipping when no Chromium is installed")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        raise SystemExit(f"{args.site} has no index.html: build the docs first")
    browser = find_browser()
    if browser is None:
        print("check_site: SKIPPED, no Chromium found (install the Debian package "
              "'chromium' or set CHROMIUM)")
        return 1 if args.require_browser else 0
    if args.screenshots:
        Path(args.screenshots).mkdir(parents=True, exist_ok=True)

    handler = functools.partial(QuietHandler, directory=str(args.site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base_url = f"http://127.0.0.1:{server.server_address[1]}"
    failed = 0
    with tempfile.TemporaryDirectory() as profile:
        process, endpoint = start_browser(browser, profile)
        try:
            from websockets.sync.client import connect

            with connect(endpoint, max_size=None, open_timeout=PAGE_TIMEOUT) as socket:
                tools = DevTools(socket)
                for (page, expect), window in itertools.product(pages_to_check(args.site),
                                                                WINDOWS):
                    QuietHandler.failures.clear()
                    found, seen = check_page(tools, base_url, page, expect, args.screenshots,
                                             window)
                    found += QuietHandler.failures
                    summary = (f"{seen['images_loaded']} images, {seen['math_typeset']} "
                               "formulas" + (f", {seen['cards']} cards" if seen["cards"] else ""))
                    print(f"{'ok  ' if not found else 'FAIL'} {page} at {window[0]} px "
                          f"({summary})")
                    for problem in found:
                        print(f"       {problem}")
                    failed += bool(found)
        finally:
            process.terminate()
            process.wait(timeout=PAGE_TIMEOUT)
            process.stderr.close()
            server.shutdown()
            server.server_close()
    print(f"check_site: {failed} page(s) with problems" if failed else
          "check_site: every page loads cleanly, with its figures and math")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
