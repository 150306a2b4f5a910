"""losscli report in a real headless browser: each sample page opens offline and draws.

For each sample report: no console errors, no request but the file itself, every
``<svg>`` drawn (non-empty), a 1280 px wide screenshot that is not blank, and the loss
names in the page's text. ``LOSSCLI_SAVE_SCREENSHOT=1`` saves the top 2000 px of the
regression page's screenshot as docs/report.png (the README shows it).
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from browser import requires_browser, visit  # noqa: E402

from losscli.cli.commands import run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = {
    "regression": (["--group", "segment", "--bootstrap", "100", "--keep", "weight"], 9),
    "binary": (["--bootstrap", "100"], 4),
    "multiclass": (["--bootstrap", "100"], 3),
}
LOSSES = {
    "regression": ["mse", "rmse", "mae", "huber"],
    "binary": ["bce", "brier"],
    "multiclass": ["cross_entropy"],
}


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("report-browser")
    out = {}
    for name, (extra, _) in SAMPLES.items():
        page = tmp / f"{name}.html"
        data = os.path.relpath(ROOT / "sample_data" / f"{name}.csv")  # as a user types it
        code = run(["report", data, *extra, "-q", "-o", str(page)])
        assert code == 0
        out[name] = page
    return out


def _image_checks(png: bytes) -> tuple[int, int, int, float]:
    """(width, height, distinct colours, share of the most common colour) of a PNG."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 24) or []
    total = image.width * image.height
    top = max(c for c, _ in colours) if colours else total
    return image.width, image.height, len(colours), top / total


@requires_browser
@pytest.mark.parametrize("name", list(SAMPLES))
def test_report_opens_offline_and_draws(pages: dict[str, Path], name: str) -> None:
    pytest.importorskip("PIL")
    page = pages[name]
    seen = visit(page, width=1280)
    assert seen.console_errors == []
    assert seen.requests == []  # every URL but the page itself
    assert seen.svg_count >= SAMPLES[name][1]
    assert seen.empty_svgs == 0
    for loss in LOSSES[name]:
        assert loss in seen.text
    assert "Worst rows" in seen.text and "Recommendations" in seen.text
    assert seen.screenshot[:8] == b"\x89PNG\r\n\x1a\n"
    width, height, colours, top_share = _image_checks(seen.screenshot)
    assert width == 1280 and height >= 600
    assert colours > 200  # charts, text anti-aliasing, table borders: far from blank
    assert top_share < 0.97  # the page is not one flat colour
    if name == "regression" and os.environ.get("LOSSCLI_SAVE_SCREENSHOT"):
        _save_top(seen.screenshot, ROOT / "docs" / "report.png")


def _save_top(png: bytes, path: Path, height: int = 2000) -> None:
    """The top of the full-page screenshot (header, tables, group chart) for the README."""
    from PIL import Image

    image = Image.open(io.BytesIO(png))
    image.crop((0, 0, image.width, min(height, image.height))).save(path, optimize=True)


@requires_browser
def test_compare_report_opens_offline_and_draws(tmp_path: Path) -> None:
    """report BASE CAND: the verdict, one difference chart per loss, the rows that got worse."""
    pytest.importorskip("PIL")
    page = tmp_path / "compare.html"
    base = os.path.relpath(ROOT / "sample_data" / "regression.csv")
    cand = os.path.relpath(ROOT / "sample_data" / "regression_worse.csv")
    args = [base, cand, "-l", "mse,mae", "--group", "segment", "--bootstrap", "100"]
    assert run(["report", *args, "-q", "-o", str(page)]) == 0
    seen = visit(page, width=1280)
    assert seen.console_errors == []
    assert seen.requests == []
    assert seen.svg_count >= 2 and seen.empty_svgs == 0
    assert "regression: " in seen.text and "Rows that got worse most" in seen.text
    width, height, colours, top_share = _image_checks(seen.screenshot)
    assert width == 1280 and height >= 600
    assert colours > 200 and top_share < 0.97


@requires_browser
@pytest.mark.parametrize("name", list(SAMPLES))
def test_a_phone_screen_does_not_scroll_the_page_sideways(
    pages: dict[str, Path], name: str, tmp_path: Path
) -> None:
    """At 400 px the wide tables scroll within themselves, long paths and commands wrap:
    the page itself is no wider than the screen."""
    assert visit(pages[name], width=400).scroll_width <= 400
    if name == "regression":  # and the two-file page
        page = tmp_path / "compare.html"
        base = ROOT / "sample_data" / "regression.csv"
        cand = ROOT / "sample_data" / "regression_worse.csv"
        args = [str(base), str(cand), "--group", "segment", "--bootstrap", "50", "-q"]
        assert run(["report", *args, "-o", str(page)]) == 0
        assert visit(page, width=400).scroll_width <= 400
