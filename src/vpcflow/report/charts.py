"""The report's interactive charts, built with Bokeh and embedded as JSON documents that BokehJS draws.

Bokeh was chosen by size: its core script (``bokeh.min.js``, ~1.3 MB in Bokeh 3.9), inlined from the
installed package, leaves most of the 5 MB budget to data, where Plotly's bundle alone is ~4.8 MB.
Every chart has hover, box zoom, wheel zoom, pan and reset. The data are the bounded aggregates of
``gather.charts``, so a chart's size does not grow with the store.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bokeh.embed import json_item
from bokeh.models import ColumnDataSource, DataRange1d, FactorRange, HoverTool, LogColorMapper, NumeralTickFormatter
from bokeh.plotting import figure
from bokeh.resources import Resources

from vpcflow.report.model import Charts, Count, Timeline

TOOLS = "pan,wheel_zoom,box_zoom,reset,save"
SERIES_COLOURS = {
    "likely-misconfiguration": "#d62728",
    "unexplained": "#9467bd",
    "benign": "#2ca02c",
    "intended-block": "#7f7f7f",
    "ingress": "#1f77b4",
    "egress": "#ff7f0e",
    "rejected": "#1f77b4",
}
FALLBACK_COLOURS = ("#17becf", "#bcbd22", "#8c564b", "#e377c2")
HEAT_PALETTE = ("#fff5eb", "#fee6ce", "#fdd0a2", "#fdae6b", "#fd8d3c", "#f16913", "#d94801", "#a63603", "#7f2704")


AXIS_LABEL_LIMIT = 40
"""Characters of a value an axis shows (an IPv6 address fits); longer ones are cut there, the tooltip
shows them whole. A log field that long would otherwise squeeze the plot to nothing."""


def axis_labels(values: list[str]) -> dict[str, str]:
    """Each value's axis label: itself, or cut to AXIS_LABEL_LIMIT with a number keeping labels distinct."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for value in values:
        label = value if len(value) <= AXIS_LABEL_LIMIT else value[: AXIS_LABEL_LIMIT - 1] + "…"
        n = 1
        while label in used:
            n += 1
            label = f"{value[: AXIS_LABEL_LIMIT - 4]}…#{n}"
        used.add(label)
        out[value] = label
    return out


@dataclass(frozen=True)
class Chart:
    """One chart: the element id it draws into, its title, and Bokeh's JSON document for it."""

    element_id: str
    title: str
    item: dict[str, Any]


def bokeh_script() -> str:
    """BokehJS, read from the installed Bokeh package (the file makes no request for it)."""
    return "\n".join(Resources(mode="inline", components=["bokeh"]).js_raw[:1])


def _finish(fig: Any) -> Any:
    fig.toolbar.logo = None
    fig.sizing_mode = "stretch_width"
    fig.xaxis.major_label_text_font_size = "11px"
    fig.yaxis.major_label_text_font_size = "11px"
    return fig


def timeline_figure(timeline: Timeline) -> Any:
    width_ms = timeline.bucket_seconds * 1000 * 0.9
    data: dict[str, Any] = {"start": list(timeline.starts)}
    names = [s.name for s in timeline.series]
    for s in timeline.series:
        data[s.name] = list(s.counts)
    fig = figure(
        height=300,
        x_axis_type="datetime",
        y_range=DataRange1d(start=0),
        tools=TOOLS,
        active_scroll="wheel_zoom",
        y_axis_label="rejected records",
    )
    colours = [SERIES_COLOURS.get(n, FALLBACK_COLOURS[i % len(FALLBACK_COLOURS)]) for i, n in enumerate(names)]
    if names:
        fig.vbar_stack(
            names, x="start", width=width_ms, color=colours, source=ColumnDataSource(data), legend_label=names
        )
        fig.legend.location = "top_left"
        fig.legend.click_policy = "hide"
    fig.add_tools(
        HoverTool(
            tooltips=[("from", "@start{%F %H:%M} UTC"), ("series", "$name"), ("records", "@$name{0,0}")],
            formatters={"@start": "datetime"},
        )
    )
    fig.yaxis.formatter = NumeralTickFormatter(format="0,0")
    return _finish(fig)


def bars_figure(counts: tuple[Count, ...], what: str, colour: str) -> Any:
    short = axis_labels([c.label for c in counts])
    labels = [short[c.label] for c in counts]
    fig = figure(
        y_range=FactorRange(factors=list(reversed(labels))),
        x_range=DataRange1d(start=0),
        height=max(180, 22 * len(labels) + 60),
        tools=TOOLS,
        x_axis_label="rejected records",
    )
    source = ColumnDataSource(
        {"label": labels, "value": [c.label for c in counts], "records": [c.records for c in counts]}
    )
    fig.hbar(y="label", right="records", height=0.75, source=source, color=colour)
    fig.add_tools(HoverTool(tooltips=[(what, "@value"), ("records", "@records{0,0}")]))
    fig.xaxis.formatter = NumeralTickFormatter(format="0,0")
    fig.ygrid.grid_line_color = None
    return _finish(fig)


def heatmap_figure(charts: Charts) -> Any:
    sources, ports = axis_labels(list(charts.heat_sources)), axis_labels(list(charts.heat_ports))
    fig = figure(
        x_range=FactorRange(factors=[ports[p] for p in charts.heat_ports]),
        y_range=FactorRange(factors=[sources[s] for s in reversed(charts.heat_sources)]),
        height=max(220, 24 * len(charts.heat_sources) + 90),
        tools=TOOLS,
        x_axis_location="above",
    )
    counts = [c.records for c in charts.heat_cells]
    source = ColumnDataSource(
        {
            "x": [ports[c.port] for c in charts.heat_cells],
            "y": [sources[c.source] for c in charts.heat_cells],
            "source": [c.source for c in charts.heat_cells],
            "port": [c.port for c in charts.heat_cells],
            "records": counts,
        }
    )
    mapper = LogColorMapper(palette=list(HEAT_PALETTE), low=1, high=max(counts or [1]) or 1)
    fig.rect(
        x="x",
        y="y",
        width=1,
        height=1,
        source=source,
        fill_color={"field": "records", "transform": mapper},
        line_color="white",
    )
    fig.add_tools(HoverTool(tooltips=[("source", "@source"), ("port", "@port"), ("records", "@records{0,0}")]))
    fig.xaxis.major_label_orientation = math.pi / 4
    fig.grid.grid_line_color = None
    return _finish(fig)


def build(charts: Charts) -> list[Chart]:
    """Every chart that has data to draw (a period with no rejects has none)."""
    out: list[Chart] = []

    def add(element_id: str, title: str, fig: Any) -> None:
        out.append(Chart(element_id, title, dict(json_item(fig))))

    if charts.timeline.starts:
        by = "by intent" if charts.timeline.by == "intent" else "by direction"
        add("chart-timeline", f"Rejected records over time, {by}", timeline_figure(charts.timeline))
    if charts.top_sources:
        add("chart-sources", "Top rejected sources", bars_figure(charts.top_sources, "source", "#1f77b4"))
    if charts.top_ports:
        add("chart-ports", "Top targeted ports", bars_figure(charts.top_ports, "port", "#ff7f0e"))
    if charts.heat_cells:
        add("chart-heatmap", "Rejected records: top sources × top ports", heatmap_figure(charts))
    if charts.by_interface:
        add(
            "chart-interfaces",
            "Rejected records by interface",
            bars_figure(charts.by_interface, "interface", "#2ca02c"),
        )
    return out
