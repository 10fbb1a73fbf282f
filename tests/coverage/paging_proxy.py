"""An HTTP proxy in front of moto that makes EC2 ``Describe*`` calls return real pages, and can answer
with the errors moto never gives (IAM propagation, refusals).

moto answers ``describe_vpcs``, ``describe_subnets``, ``describe_network_interfaces`` and
``describe_flow_logs`` in one page whatever ``MaxResults`` says. This proxy asks moto for everything,
then serves the slice ``MaxResults`` asks for with a ``nextToken``, exactly as EC2 does, so a test can
count the pages a paginating client really reads.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlencode


def _page(xml: bytes, offset: int, size: int) -> bytes:
    root = ET.fromstring(xml)
    ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
    for child in root:
        items = child.findall(f"{ns}item")
        if items or child.tag.endswith("Set") or child.tag.endswith("Attachments"):
            for item in items[:offset] + items[offset + size :]:
                child.remove(item)
            if offset + size < len(items):
                token = ET.SubElement(root, f"{ns}nextToken")
                token.text = str(offset + size)
            break
    ET.register_namespace("", ns.strip("{}"))
    return ET.tostring(root, xml_declaration=True, encoding="UTF-8")


class _Handler(BaseHTTPRequestHandler):
    upstream = ""
    faults: dict[str, list[tuple[str, str]]]  # EC2 action -> errors (code, message) to answer first, in order
    seen: list[dict[str, str]]  # the parameters of every EC2 query request

    def log_message(self, *args: object) -> None:
        pass

    def _forward(self, body: bytes | None) -> None:
        params = dict(parse_qsl(body.decode())) if body and self.command == "POST" else {}
        if params.get("Action"):
            self.seen.append(dict(params))
        key = params.get("Action", "") + ("+DryRun" if params.get("DryRun") == "true" else "")
        pending = self.faults.get(key, [])
        if pending:
            code, message = pending.pop(0)
            err = (
                '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error>'
                f"<Code>{code}</Code><Message>{message}</Message></Error></Errors>"
                "<RequestID>injected</RequestID></Response>"
            ).encode()
            self.send_response(400)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(err)))
            self.end_headers()
            self.wfile.write(err)
            return
        paged = params.get("Action", "").startswith("Describe") and "MaxResults" in params
        offset, size = 0, 0
        if paged:
            size = int(params.pop("MaxResults"))
            offset = int(params.pop("NextToken", "0") or 0)
            body = urlencode(params).encode()
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
        req = urllib.request.Request(self.upstream + self.path, data=body, method=self.command, headers=headers)
        try:
            with urllib.request.urlopen(req) as resp:
                status, resp_headers, data = resp.status, resp.headers, resp.read()
        except urllib.error.HTTPError as err:
            status, resp_headers, data = err.code, err.headers, err.read()
        if paged and status == 200:
            data = _page(data, offset, size)
        self.send_response(status)
        for k, v in resp_headers.items():
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "server", "date"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _body(self) -> bytes | None:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else None

    def do_POST(self) -> None:
        self._forward(self._body())

    def do_GET(self) -> None:
        self._forward(None)

    def do_HEAD(self) -> None:
        self._forward(None)

    def do_PUT(self) -> None:
        self._forward(self._body())

    def do_DELETE(self) -> None:
        self._forward(None)


@contextmanager
def paging_proxy(
    upstream: str, faults: dict[str, list[tuple[str, str]]] | None = None, seen: list[dict[str, str]] | None = None
) -> Iterator[str]:
    """A proxy URL; ``faults`` are errors to answer before forwarding (keyed by EC2 action, with
    ``+DryRun`` for dry runs), ``seen`` records EC2 requests."""
    handler = type(
        "Handler", (_Handler,), {"upstream": upstream, "faults": faults or {}, "seen": seen if seen is not None else []}
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
