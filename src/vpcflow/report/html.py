"""Render a ``Report`` as one self-contained HTML file: BokehJS, the charts and the page's own script inline.

Two guards keep text from the account or the logs inert. Jinja2 autoescapes every value, so an SG
description holding ``<script>`` is shown as text. The chart data, which must sit inside a
``<script>`` element, is JSON with ``<``, ``>`` and ``&`` written as ``\\u`` escapes, so no string can
close the element. Behind both, a Content-Security-Policy runs only the scripts whose hashes the report
lists and allows no network request at all.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from vpcflow import __version__
from vpcflow.cli.output import json_default
from vpcflow.report import charts as chart_builder
from vpcflow.report.model import Report

SCRIPT_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)


def script_json(value: Any) -> str:
    """JSON that is safe inside a ``<script>`` element: no ``</script>``, ``<!--`` or line separators."""
    text = json.dumps(value, default=json_default, separators=(",", ":"))
    return text.translate(SCRIPT_ESCAPES)


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def content_security_policy(scripts: list[str]) -> str:
    """Only these inline scripts run; no fetch, image, font or frame may come from anywhere but the file."""
    return (
        "default-src 'none'; "
        f"script-src {' '.join(_sha256(s) for s in scripts)}; "
        "style-src 'unsafe-inline'; img-src data:; font-src data:; "
        "connect-src 'none'; base-uri 'none'; form-action 'none'"
    )


def _when(value: datetime | None, empty: str = "") -> str:
    if value is None:
        return empty
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _num(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _asset(name: str) -> str:
    return resources.files("vpcflow.report").joinpath("templates", name).read_text(encoding="utf-8")


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("vpcflow.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = _when
    env.filters["num"] = _num
    return env


def _inline_script(text: str) -> str:
    """A script's own text, checked to hold nothing that would end its element early."""
    if "</script" in text.lower() or "<!--" in text:
        raise ValueError("an inline script contains </script or <!--: it cannot be inlined safely")
    return text


def render_html(report: Report) -> str:
    """The whole page as a string (a few MB at most: every part of ``report`` is bounded)."""
    built = chart_builder.build(report.charts)
    bokeh_js = _inline_script(chart_builder.bokeh_script())
    app_js = _inline_script(_asset("report.js"))
    template = _environment().get_template("report.html.j2")
    return template.render(
        report=report,
        charts=built,
        charts_json=Markup(script_json({c.element_id: c.item for c in built})),
        bokeh_js=Markup(bokeh_js),
        app_js=Markup(app_js),
        css=Markup(_asset("report.css")),
        csp=content_security_policy([bokeh_js, app_js]),
        version=__version__,
    )
