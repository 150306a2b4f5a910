"""Open a page in a real headless browser: Debian's Chromium, driven by Playwright.

``visit(path)`` loads a local HTML file at a given width and returns what a reader would
meet: the console errors, every request the page made (anything but the file itself is a
network request a self-contained page must not make; they are blocked, not sent), a
full-page PNG screenshot, the SVG charts (and how many of them draw nothing) and the text.

Tests that need it are marked ``requires_browser``: they skip where Chromium or Playwright
is missing (``.ci/run`` installs Chromium best effort, the test extra installs Playwright).
"""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser")) if p is not None), None
)
# Flags for a closed network: no background services that would try to reach the internet.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def browser_available() -> bool:
    return CHROMIUM is not None and importlib.util.find_spec("playwright") is not None


requires_browser = pytest.mark.skipif(
    not browser_available(), reason="needs Chromium (apt-get install chromium) and playwright"
)


@dataclass
class Visit:
    """What a headless Chromium met on one page."""

    console_errors: list[str]
    requests: list[str]  # every URL requested except the page itself
    screenshot: bytes  # PNG, full page, ``width`` CSS pixels wide
    svg_count: int
    empty_svgs: int  # <svg> elements with no drawn shape (path, rect, circle, line, text…)
    text: str
    scroll_width: int  # the document's width in CSS pixels (wider than ``width``: it scrolls)


#: An SVG draws nothing unless it holds one of these.
SHAPES = "path, rect, circle, ellipse, line, polyline, polygon, text, use, image"


def visit(path: Path, width: int = 1280) -> Visit:
    """Load ``path`` (a local HTML file) in headless Chromium at ``width`` px."""
    from playwright.sync_api import sync_playwright

    page_url = Path(path).resolve().as_uri()
    errors: list[str] = []
    requests: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))

            def route(request_route) -> None:
                url = request_route.request.url
                if url == page_url:
                    request_route.continue_()
                    return
                requests.append(url)
                request_route.abort()

            page.route("**/*", route)
            page.goto(page_url, wait_until="load")
            svg_count = page.locator("svg").count()
            empty = page.evaluate(
                "(shapes) => [...document.querySelectorAll('svg')]"
                ".filter(s => s.querySelectorAll(shapes).length === 0).length",
                SHAPES,
            )
            text = page.inner_text("body")
            scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
            png = page.screenshot(full_page=True)
        finally:
            browser.close()
    return Visit(errors, requests, png, svg_count, empty, text, scroll_width)


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) of a PNG, from its IHDR chunk."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")


def png_colours(png: bytes) -> int:
    """How many distinct colours the image holds (a blank page has one)."""
    import io

    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    return len(colours) if colours is not None else 1 << 20
