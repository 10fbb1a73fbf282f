"""The HTML text itself: self-contained, escaped, bounded, and with every section the issue asks for."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

from tests.report import fixtures as fx
from vpcflow.report.charts import AXIS_LABEL_LIMIT, axis_labels
from vpcflow.report.html import content_security_policy, script_json


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of each <script> element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self._in_script: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._in_script = dict(attrs)
            self.scripts.append((self._in_script, ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = None

    def handle_data(self, data: str) -> None:
        if self._in_script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)


def _parse(path: Path) -> Elements:
    parser = Elements()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def test_script_json_cannot_close_its_element() -> None:
    text = script_json({"a": fx.HOSTILE_BREAKOUT, "b": "<!-- x -->", "c": "\u2028&"})
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == {"a": fx.HOSTILE_BREAKOUT, "b": "<!-- x -->", "c": "\u2028&"}


def test_the_page_has_exactly_its_own_scripts(report_html: Path) -> None:
    parsed = _parse(report_html)
    kinds = [attrs.get("type") for attrs, _ in parsed.scripts]
    # BokehJS, the chart data, the page's script: none of the hostile strings became a script element
    assert kinds == [None, "application/json", None]
    assert not any("src" in attrs for attrs, _ in parsed.scripts)
    data = json.loads(parsed.scripts[1][1])
    assert set(data) == {"chart-timeline", "chart-sources", "chart-ports", "chart-heatmap", "chart-interfaces"}
    # the hostile source address travels inside the chart data, intact as data
    assert fx.HOSTILE_SRC in json.dumps(data)


def test_nothing_is_loaded_from_anywhere_else(report_html: Path) -> None:
    parsed = _parse(report_html)
    for tag, attrs in parsed.tags:
        for name in ("src", "href", "srcset", "action", "data"):
            value = attrs.get(name)
            if value is not None:
                assert value.startswith(("#", "data:")), (tag, name, value)
    csp = next(a["content"] for t, a in parsed.tags if t == "meta" and a.get("http-equiv") == "Content-Security-Policy")
    assert csp and "default-src 'none'" in csp and "connect-src 'none'" in csp
    assert len(re.findall(r"'sha256-[A-Za-z0-9+/=]+'", csp)) == 2


def test_account_and_log_text_is_escaped(report_html: Path) -> None:
    html = report_html.read_text(encoding="utf-8")
    for hostile in (fx.HOSTILE_SCRIPT, fx.HOSTILE_BREAKOUT, fx.HOSTILE_IMG):
        assert hostile not in html
    assert "web: HTTP and HTTPS &lt;script&gt;window.__pwned = 1;" in html  # the SG description, as text
    assert "db-acl &lt;img src=&#34;x&#34; onerror=" in html  # the ACL's Name tag
    assert "garbage &lt;/script&gt;&lt;script&gt;" in html  # a quarantined line
    assert "staging &lt;img" in html  # a resource name from the audit


def test_every_section_is_there(report_html: Path, full_report) -> None:  # type: ignore[no-untyped-def]
    html = report_html.read_text(encoding="utf-8")
    for anchor in ('id="summary"', 'id="health"', 'id="coverage"', 'id="charts"', 'id="causes"', 'id="findings"'):
        assert anchor in html
    # causes (explain's, from the snapshot): the misconfiguration first, its fix copyable in both forms
    first = html.index('id="cause-1"')
    assert html.index("likely-misconfiguration", first) < html.index("NACL_INGRESS_DENY", first)
    assert html.index("NACL_INGRESS_DENY", first) < html.index("intended-block", first)
    assert 'data-target="fix-1-1-cli"' in html and 'id="fix-1-1-tf"' in html
    assert "aws ec2 create-network-acl-entry --network-acl-id acl-0db000000000000003 --ingress" in html
    # coverage: each non-compliant resource with its enable command
    assert "vpcflow enable --accounts 123456789012 --regions eu-west-1 --resource-ids vpc-0ccc0000000000003" in html
    # findings: severity and MITRE technique
    assert "brute-force-auth" in html and "T1110" in html
    assert f"{full_report.traffic.rejected:,}" in html


def test_with_a_snapshot_the_timeline_splits_by_intent(full_report) -> None:  # type: ignore[no-untyped-def]
    timeline = full_report.charts.timeline
    assert timeline.by == "intent"
    totals = {s.name: sum(s.counts) for s in timeline.series}
    by_intent = {c.label: c.records for c in full_report.causes.by_intent}
    assert totals == by_intent  # the per-tuple intents agree with explain's causes, record for record
    assert timeline.series[0].name == "likely-misconfiguration"  # the bottom of the stack
    assert totals["likely-misconfiguration"] == 72  # the app -> db requests of the fixture


def test_the_report_is_small(report_html: Path) -> None:
    size = report_html.stat().st_size
    assert size < 2_000_000, size  # BokehJS (~1.3 MB) and a few tens of kB of data


def test_long_axis_labels_are_cut_and_stay_distinct() -> None:
    long_a, long_b = "a" * 60, "a" * 50
    labels = axis_labels(["10.0.0.1", long_a, long_b, "2001:db8::1"])
    assert labels["10.0.0.1"] == "10.0.0.1" and labels["2001:db8::1"] == "2001:db8::1"
    assert len(labels[long_a]) <= AXIS_LABEL_LIMIT and len(labels[long_b]) <= AXIS_LABEL_LIMIT
    assert len(set(labels.values())) == 4


def test_csp_lists_the_hash_of_each_script() -> None:
    csp = content_security_policy(["alert(1)"])
    # sha256 of "alert(1)", base64: the browser runs only a script with exactly this text
    assert "'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='" in csp


def test_findings_link_to_the_causes_of_their_rejects(full_report, report_html: Path) -> None:  # type: ignore[no-untyped-def]
    by_rule = {f.rule_id: f for f in full_report.findings.findings}
    internal = by_rule["internal-reject"]  # app -> db on 5432: the misconfiguration, first in the causes
    assert [(c.anchor, c.intent, c.code) for c in internal.causes] == [
        ("cause-1", "likely-misconfiguration", "NACL_INGRESS_DENY")
    ]
    brute = by_rule["brute-force-auth"]
    assert brute.causes and all(c.intent == "intended-block" for c in brute.causes)
    html = report_html.read_text(encoding="utf-8")
    assert '<a href="#cause-1"><span class="badge intent-likely-misconfiguration">' in html
