"""The report in headless Chromium (Debian's, driven over the DevTools pipe): offline, clean, drawn, inert.

The page is opened from file:// with the network emulated offline, every host resolving to nowhere and
a proxy on a closed port, so a request for anything outside the file would fail and be recorded.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.report import fixtures as fx
from tests.report.browser import Browser, Page
from vpcflow.report.build import ReportRequest, build_report
from vpcflow.report.charts import AXIS_LABEL_LIMIT, axis_labels
from vpcflow.report.html import render_html

CHARTS = ("chart-timeline", "chart-sources", "chart-ports", "chart-heatmap", "chart-interfaces")
CHART_COLOURS = {  # a colour each chart must show (charts.py): proof that its data were drawn
    "chart-timeline": (0x7F, 0x7F, 0x7F),  # intended blocks: with a snapshot the timeline is by intent
    "chart-sources": (0x1F, 0x77, 0xB4),
    "chart-ports": (0xFF, 0x7F, 0x0E),
    "chart-heatmap": (0x7F, 0x27, 0x04),  # the darkest cell: the largest count
    "chart-interfaces": (0x2C, 0xA0, 0x2C),
}
FIGURES = "Object.values(Bokeh.index).filter(v => v.model.type === 'Figure')"
"""The views BokehJS made for the report's figures (its index also holds other root views)."""
SHADOW_WALK = """
var walk = (node, test) => {
  let found = [];
  if (node.shadowRoot) found = found.concat(walk(node.shadowRoot, test));
  for (const child of node.children || []) found = found.concat(walk(child, test));
  if (test(node)) found.push(node);
  return found;
};
"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser() as b:
        yield b


@pytest.fixture(scope="module")
def page(browser: Browser, report_html: Path) -> Page:
    opened = browser.open(report_html.as_uri(), width=1280, height=1000, settle=1.0)
    for _ in range(50):  # the charts draw after the load event; wait for the page to say so
        if opened.evaluate("document.body.getAttribute('data-charts')"):
            break
        time.sleep(0.2)
    return opened


def test_the_page_makes_no_request_beyond_the_file(page: Page, report_html: Path) -> None:
    assert page.log.requests[0] == report_html.as_uri()
    outside = [u for u in page.log.requests if not u.startswith(("file:", "data:"))]
    assert outside == []


def test_no_console_errors_or_exceptions(page: Page) -> None:
    page.evaluate("1")  # collect what arrived since the load
    assert page.log.errors == []
    assert any("bokeh" in text for _, text in page.log.console)  # the log is really collected


def test_every_chart_draws(page: Page) -> None:
    assert page.evaluate("document.body.getAttribute('data-charts')") == "drawn"
    drawn = page.evaluate(
        "[...document.querySelectorAll('.chart-body')].map(e => [e.id, e.getAttribute('data-drawn')])"
    )
    assert drawn == [[c, "yes"] for c in CHARTS]
    painted = page.evaluate(
        SHADOW_WALK
        + """
        var out = {};
        for (const el of document.querySelectorAll('.chart-body')) {
          const canvas = walk(el, n => n.tagName === 'CANVAS')[0];
          const px = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
          let ink = 0;
          for (let i = 0; i < px.length; i += 4) {
            if (px[i + 3] > 0 && (px[i] < 240 || px[i + 1] < 240 || px[i + 2] < 240)) ink++;
          }
          out[el.id] = [canvas.width, canvas.height, ink];
        }
        out;
        """
    )
    for chart in CHARTS:
        width, height, ink = painted[chart]
        assert width > 300 and height > 100, (chart, painted[chart])
        assert ink > 0.01 * width * height, (chart, painted[chart])


def test_every_chart_is_interactive(page: Page) -> None:
    tools = page.evaluate(FIGURES + ".map(v => v.model.toolbar.tools.map(t => t.type).sort().join(','))")
    assert len(tools) == len(CHARTS)
    for kinds in tools:
        for tool in ("HoverTool", "WheelZoomTool", "BoxZoomTool", "PanTool", "ResetTool"):
            assert tool in kinds, kinds


def _box(page: Page, element_id: str) -> dict[str, float]:
    box: dict[str, float] = page.evaluate(
        f"(() => {{ const r = document.getElementById('{element_id}').getBoundingClientRect();"
        " return {x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height}; })()"
    )
    return box


def test_the_screenshot_shows_the_charts(page: Page, tmp_path: Path) -> None:
    shot = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("RGB")
    colours = shot.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 50  # not a blank or single-colour page
    pixels = shot.load()
    assert pixels is not None
    for chart, colour in CHART_COLOURS.items():
        box = _box(page, chart)
        found = 0
        for x in range(int(box["x"]), int(box["x"] + box["width"]), 3):
            for y in range(int(box["y"]), int(box["y"] + box["height"]), 3):
                if x < shot.width and y < shot.height and _near(pixels[x, y], colour):
                    found += 1
        assert found > 20, (chart, box, found)


def _near(pixel: Any, colour: tuple[int, int, int]) -> bool:
    return all(abs(int(a) - b) <= 6 for a, b in zip(pixel, colour, strict=False))


def test_injected_scripts_do_not_run_and_show_as_text(page: Page) -> None:
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.evaluate("document.title").startswith("vpcflow report")
    text = page.evaluate("document.body.innerText")
    assert "web: HTTP and HTTPS " + fx.HOSTILE_SCRIPT in text  # the SG description, shown as it is
    assert "garbage " + fx.HOSTILE_BREAKOUT in text  # a quarantined line
    assert page.evaluate("document.querySelectorAll('img').length") == 0


def test_hovering_a_cell_shows_a_hostile_address_as_text(page: Page) -> None:
    box = _box(page, "chart-heatmap")
    page.evaluate(f"window.scrollTo(0, {box['y'] - 100})")
    scrolled = page.evaluate("window.scrollY")
    view = page.evaluate(
        "(() => { const v = " + FIGURES + ".find(v => document.getElementById('chart-heatmap').contains(v.el));"
        " const f = v.frame.bbox; return {left: f.left, top: f.top, width: f.width, height: f.height,"
        " ports: v.model.x_range.factors, sources: v.model.y_range.factors}; })()"
    )
    # the hostile source's cell: its column is its port, its row counts from the bottom (the y range's order)
    # the axis shows the hostile value cut short (it would squeeze the plot); the tooltip shows it whole
    label = axis_labels([fx.HOSTILE_SRC])[fx.HOSTILE_SRC]
    assert label != fx.HOSTILE_SRC and len(label) == AXIS_LABEL_LIMIT
    column, row = view["ports"].index("8080/tcp"), view["sources"].index(label)
    x = box["x"] + view["left"] + (column + 0.5) * view["width"] / len(view["ports"])
    y = box["y"] - scrolled + view["top"] + view["height"] - (row + 0.5) * view["height"] / len(view["sources"])
    for dx in (0, 1, 2):
        page.browser.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x + dx, "y": y}, session=page.session)
    tooltip = ""
    for _ in range(20):
        time.sleep(0.1)
        tooltip = page.evaluate(
            SHADOW_WALK + "walk(document.body, n => n.classList && n.classList.contains('bk-Tooltip'))"
            ".map(n => (n.shadowRoot || n).textContent).join(' ')"
        )
        if fx.HOSTILE_SRC in tooltip:
            break
    assert fx.HOSTILE_SRC in tooltip, tooltip
    assert "8080/tcp" in tooltip
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.log.errors == []


def test_a_period_without_rejects_opens_cleanly(
    browser: Browser, report_inputs: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "empty.html"
    request = ReportRequest(store=str(report_inputs["store"]), since=datetime(2030, 1, 1), findings=False)
    out.write_text(render_html(build_report(request)), encoding="utf-8")
    empty = browser.open(out.as_uri(), settle=0.5)
    assert empty.evaluate("document.body.getAttribute('data-charts')") == "drawn"
    assert empty.evaluate("document.querySelectorAll('.chart-body').length") == 0
    assert "No rejected records in this period" in empty.evaluate("document.body.innerText")
    assert empty.log.errors == []


def test_a_copy_button_copies_its_fix(browser: Browser, page: Page) -> None:
    browser.send("Browser.grantPermissions", {"permissions": ["clipboardReadWrite", "clipboardSanitizedWrite"]})
    button = "document.querySelector('button.copy[data-target=\"fix-1-1-cli\"]')"
    where = page.evaluate(
        f"(() => {{ const b = {button}; b.scrollIntoView({{block: 'center'}}); const r = b.getBoundingClientRect();"
        " return {x: r.left + r.width / 2, y: r.top + r.height / 2}; })()"
    )
    for kind in ("mousePressed", "mouseReleased"):
        page.browser.send(
            "Input.dispatchMouseEvent",
            {"type": kind, "x": where["x"], "y": where["y"], "button": "left", "clickCount": 1},
            session=page.session,
        )
    for _ in range(20):
        if page.evaluate(f"{button}.textContent") == "Copied":
            break
        time.sleep(0.1)
    assert page.evaluate(f"{button}.textContent") == "Copied"
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == page.evaluate("document.getElementById('fix-1-1-cli').textContent")
    assert copied.startswith("aws ec2 create-network-acl-entry --network-acl-id acl-0db000000000000003")
