"""The browser harness finds what it is meant to: a report test that uses it can fail."""

from __future__ import annotations

import pytest
from browser import png_colours, png_size, requires_browser, visit

pytestmark = requires_browser

GOOD = """<!doctype html><html><head><meta charset="utf-8"><title>t</title></head><body>
<h1>losses</h1>
<svg width="200" height="100"><rect x="10" y="10" width="80" height="60" fill="#c33"/></svg>
</body></html>"""

BROKEN = """<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="https://fonts.example.invalid/font.css"></head><body>
<svg width="200" height="100"></svg>
<img src="http://cdn.example.invalid/x.png">
<script>console.error("chart failed"); undefinedFunction();</script>
</body></html>"""


def test_a_self_contained_page(tmp_path):
    page = tmp_path / "good.html"
    page.write_text(GOOD)
    seen = visit(page)
    assert seen.console_errors == []
    assert seen.requests == []
    assert (seen.svg_count, seen.empty_svgs) == (1, 0)
    assert "losses" in seen.text
    assert png_size(seen.screenshot)[0] == 1280


def test_errors_requests_and_empty_charts_are_caught(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text(BROKEN)
    seen = visit(page)
    assert "chart failed" in seen.console_errors
    assert any("undefinedFunction" in e for e in seen.console_errors)
    assert sorted(seen.requests) == [
        "http://cdn.example.invalid/x.png",
        "https://fonts.example.invalid/font.css",
    ]
    assert (seen.svg_count, seen.empty_svgs) == (1, 1)


def test_a_blank_page_has_one_colour(tmp_path):
    pytest.importorskip("PIL")
    blank, drawn = tmp_path / "blank.html", tmp_path / "drawn.html"
    blank.write_text("<!doctype html><html><body></body></html>")
    drawn.write_text(GOOD)
    assert png_colours(visit(blank).screenshot) == 1
    assert png_colours(visit(drawn).screenshot) > 2
