"""Auditing Terraform: VPCs declared without a flow log that records rejected traffic.

Two inputs. A directory of ``.tf`` files is read with python-hcl2; each directory is one module scope,
and a flow log is tied to its VPC through the reference in ``vpc_id`` (``aws_vpc.main.id``, with or
without an index). The JSON of ``terraform show -json`` (a plan or a state) is better: values are known,
module calls are resolved through the configuration's references, and the VPCs of modules are there.

Besides plain ``aws_flow_log`` resources, a ``terraform-aws-modules/vpc/aws`` module call counts as a
VPC whose flow log is ``enable_flow_log`` with ``flow_log_traffic_type`` (default ALL), the pattern other
IaC scanners flag by mistake. A delivery role declared in the same configuration is checked for the
right trust principal (``vpc-flow-logs.amazonaws.com``).
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vpcflow.coverage.iam_eval import VPC_FLOW_LOGS_PRINCIPAL, assess_trust
from vpcflow.coverage.model import AuditResult, Check, Code, FlowLogEvidence, Resource, ResourceType, Verdict
from vpcflow.errors import InputError

VPC_TYPES = ("aws_vpc", "aws_default_vpc")
VPC_MODULE_SOURCES = ("terraform-aws-modules/vpc/aws",)
_REF = re.compile(r"\b(aws_vpc|aws_default_vpc)\.([A-Za-z0-9_-]+)(\[[^\]]*\])?\.id\b")
_ROLE_REF = re.compile(r"\baws_iam_role\.([A-Za-z0-9_-]+)(\[[^\]]*\])?\.arn\b")
_VAR = re.compile(r"^\$\{var\.([A-Za-z0-9_-]+)\}$")
_SERVICE = re.compile(r"Service\s*[=:]\s*\[?\s*\"([^\"]+)\"")
_MODULE_OUT = re.compile(r"\bmodule\.([A-Za-z0-9_-]+)(\[[^\]]*\])?\.")
_LOCAL = re.compile(r"\blocal\.([A-Za-z0-9_-]+)")
_LOCAL_DEPTH = 16  # locals referring to locals: deeper chains are left unresolved (and a cycle ends)


@dataclass
class TfFlowLog:
    address: str
    vpc_refs: list[str]  # addresses of the VPCs it covers
    traffic_type: str | None
    destination_type: str
    destination: str | None
    role_problem: str | None = None
    unresolved: str | None = None  # the vpc_id expression when it could not be tied to a VPC
    traffic_type_missing: bool = False  # the argument is absent (not merely an expression vpcflow cannot read)


@dataclass
class TfVpc:
    address: str
    where: str
    is_default: bool = False
    module_flow_log: TfFlowLog | None = None
    notes: list[str] = field(default_factory=list)


def audit_terraform(path: Path) -> AuditResult:
    if path.is_dir():
        vpcs, flow_logs = scan_hcl(path)
    else:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError) as err:
            raise InputError(
                f"{path} is neither a directory of .tf files nor `terraform show -json` output: {err}."
            ) from err
        vpcs, flow_logs = scan_plan_json(data, str(path.name))
    verdicts = [_verdict(v, flow_logs) for v in vpcs]
    unresolved = [f for f in flow_logs if f.unresolved]
    for v in verdicts:
        if v.code == Code.NO_FLOW_LOG and unresolved:
            v.notes.extend(
                f"{f.address}: vpc_id {f.unresolved} could not be tied to a VPC (audit `terraform show -json` output to resolve it)"
                for f in unresolved
            )
    return AuditResult(
        verdicts=verdicts,
        generated_at=datetime.now(UTC),
        accounts=["terraform"],
        regions=sorted({v.resource.region for v in verdicts}),
    )


def _verdict(vpc: TfVpc, flow_logs: list[TfFlowLog]) -> Verdict:
    res = Resource(
        "terraform",
        vpc.where,
        ResourceType.VPC,
        vpc.address,
        "terraform",
        is_default=vpc.is_default,
        vpc_id=vpc.address,
    )
    mine = [f for f in flow_logs if vpc.address in f.vpc_refs]
    if vpc.module_flow_log:
        mine.insert(0, vpc.module_flow_log)
    evidence = []
    for f in mine:
        ev = FlowLogEvidence(
            f.address,
            vpc.address,
            None,
            f.traffic_type,
            None,
            None,
            None,
            f.destination_type,
            f.destination,
            None,
            None,
            None,
        )
        if f.traffic_type_missing:
            ev.checks.append(
                Check(
                    Code.TRAFFIC_TYPE_MISSING,
                    False,
                    "has no traffic_type, a required argument for a VPC flow log: AWS refuses it, the apply fails "
                    'and no flow log is created (set traffic_type = "REJECT" or "ALL")',
                )
            )
        elif f.traffic_type in ("REJECT", "ALL"):
            ev.checks.append(Check(Code.ACCEPT_ONLY, True, f"traffic_type {f.traffic_type}"))
        elif f.traffic_type is None:
            ev.checks.append(
                Check(
                    Code.ACCEPT_ONLY, False, "traffic_type is not set (or not known), so no REJECT capture is declared"
                )
            )
        else:
            ev.checks.append(
                Check(Code.ACCEPT_ONLY, False, f"traffic_type {f.traffic_type} does not record rejected traffic")
            )
        if f.role_problem:
            ev.checks.append(Check(Code.ROLE_INVALID, False, f.role_problem))
        evidence.append(ev)
    good = [e for e in evidence if not e.failures]
    if good:
        return Verdict(
            res,
            Code.COMPLIANT,
            f"{good[0].flow_log_id} records {good[0].traffic_type} traffic",
            evidence,
            vpc.notes,
            covered_by="own",
            source="terraform",
        )
    if not evidence:
        return Verdict(
            res,
            Code.NO_FLOW_LOG,
            "no aws_flow_log (or VPC module flow log) is declared for this VPC",
            evidence,
            vpc.notes,
            source="terraform",
        )
    order = {Code.TRAFFIC_TYPE_MISSING: 0, Code.ACCEPT_ONLY: 0, Code.ROLE_INVALID: 1}
    closest = max(evidence, key=lambda e: order.get(e.cause, 0))
    failed = next(c for c in closest.checks if c.ok is False)
    return Verdict(
        res, closest.cause, f"{closest.flow_log_id}: {failed.detail}", evidence, vpc.notes, source="terraform"
    )


# -- HCL ------------------------------------------------------------------------------------------------
def _load_hcl(path: Path) -> dict[str, Any]:
    try:
        import hcl2
        from hcl2.utils import SerializationOptions
    except ImportError as err:  # pragma: no cover - dependency of the package
        raise InputError("Reading Terraform needs python-hcl2 (pip install python-hcl2).") from err
    opts = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)
    try:
        with path.open() as fh:
            data: dict[str, Any] = hcl2.load(fh, serialization_options=opts)
    except Exception as err:  # python-hcl2 raises lark errors of many kinds
        raise InputError(
            f"Cannot parse {path}: {str(err).splitlines()[0] if str(err) else type(err).__name__}."
        ) from err
    return data


def _blocks(data: dict[str, Any], kind: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(type, name, body) for ``resource``/``data`` blocks; (name, "", body) for others."""
    out = []
    for entry in data.get(kind, []):
        for first, rest in entry.items():
            if kind in ("resource", "data"):
                for name, body in rest.items():
                    out.append((first.strip('"'), name.strip('"'), body if isinstance(body, dict) else {}))
            else:
                out.append((first.strip('"'), "", rest if isinstance(rest, dict) else {}))
    return out


def _with_locals(expr: str, local_values: dict[str, Any]) -> str:
    """``expr`` with each ``local.NAME`` replaced by that local's expression, through chains of locals."""
    for _ in range(_LOCAL_DEPTH):
        replaced = _LOCAL.sub(
            lambda m: str(local_values[m.group(1)]) if m.group(1) in local_values else m.group(0), expr
        )
        if replaced == expr:
            break
        expr = replaced
    return expr


def _literal(value: Any, variables: dict[str, Any]) -> Any:
    if isinstance(value, str):
        m = _VAR.match(value)
        if m and m.group(1) in variables:
            return variables[m.group(1)]
        if value.startswith("${"):
            return None
        return value.replace("$${", "${")
    return value


def scan_hcl(root: Path) -> tuple[list[TfVpc], list[TfFlowLog]]:
    files = sorted(p for p in root.rglob("*.tf") if ".terraform" not in p.parts)
    if not files:
        raise InputError(f"No .tf files under {root}.")
    by_dir: dict[Path, list[Path]] = defaultdict(list)
    for f in files:
        by_dir[f.parent].append(f)
    vpcs: list[TfVpc] = []
    flow_logs: list[TfFlowLog] = []
    module_vpcs: dict[str, list[str]] = {}  # local module directory -> its VPC addresses
    for d, paths in sorted(by_dir.items()):
        scope = "" if d == root else str(d.relative_to(root)) + "/"
        docs = [(p, _load_hcl(p)) for p in paths]
        variables = {}
        for _, data in docs:
            for name, _, body in _blocks(data, "variable"):
                if "default" in body:
                    variables[name] = body["default"]
        local_values: dict[str, Any] = {}
        for _, data in docs:
            for block in data.get("locals", []):
                if isinstance(block, dict):
                    local_values.update(block)
        roles = {
            name: body for _, data in docs for rtype, name, body in _blocks(data, "resource") if rtype == "aws_iam_role"
        }
        policy_docs = {
            name: body
            for _, data in docs
            for dtype, name, body in _blocks(data, "data")
            if dtype == "aws_iam_policy_document"
        }
        for p, data in docs:
            rel = str(p.relative_to(root))
            for rtype, name, body in _blocks(data, "resource"):
                if rtype in VPC_TYPES:
                    vpcs.append(TfVpc(f"{scope}{rtype}.{name}", rel, is_default=rtype == "aws_default_vpc"))
                    module_vpcs.setdefault(str(d), []).append(f"{scope}{rtype}.{name}")
                elif rtype == "aws_flow_log":
                    flow_logs.append(
                        _hcl_flow_log(
                            f"{scope}aws_flow_log.{name}", scope, body, variables, local_values, roles, policy_docs
                        )
                    )
            for mname, _, body in _blocks(data, "module"):
                source = str(body.get("source", ""))
                if source in VPC_MODULE_SOURCES or source.startswith(VPC_MODULE_SOURCES[0] + "//"):
                    vpcs.append(_module_vpc(f"{scope}module.{mname}", rel, body, variables))
    # flow logs pointing at module outputs (module.x.vpc_id) of a local module with exactly one VPC
    for tf in flow_logs:
        if tf.unresolved and (m := _MODULE_OUT.search(tf.unresolved)):
            for mod_dir, addrs in module_vpcs.items():
                if Path(mod_dir).name == m.group(1) and len(addrs) == 1:
                    tf.vpc_refs.append(addrs[0])
                    tf.unresolved = None
    return vpcs, flow_logs


def _module_vpc(address: str, where: str, body: dict[str, Any], variables: dict[str, Any]) -> TfVpc:
    vpc = TfVpc(address, where)
    enabled = _literal(body.get("enable_flow_log", False), variables)
    if enabled is True or str(enabled).lower() == "true":
        traffic = _literal(body.get("flow_log_traffic_type", "ALL"), variables)
        dest = _literal(body.get("flow_log_destination_type", "cloud-watch-logs"), variables)
        vpc.module_flow_log = TfFlowLog(
            f"{address} (enable_flow_log)", [address], traffic, str(dest or "cloud-watch-logs"), None
        )
    elif enabled is None:
        vpc.notes.append(f"{address}: enable_flow_log is an expression vpcflow cannot evaluate here")
    return vpc


def _hcl_flow_log(
    address: str,
    scope: str,
    body: dict[str, Any],
    variables: dict[str, Any],
    local_values: dict[str, Any],
    roles: dict[str, dict[str, Any]],
    policy_docs: dict[str, dict[str, Any]],
) -> TfFlowLog:
    vpc_expr = body.get("vpc_id")
    refs: list[str] = []
    unresolved = None
    if isinstance(vpc_expr, str):
        resolved = _with_locals(vpc_expr, local_values)
        refs = list(dict.fromkeys(f"{scope}{m.group(1)}.{m.group(2)}" for m in _REF.finditer(resolved)))
        if not refs:
            unresolved = vpc_expr if resolved == vpc_expr else f"{vpc_expr} (= {resolved})"
    traffic = _literal(body.get("traffic_type"), variables)
    dtype = _literal(body.get("log_destination_type", "cloud-watch-logs"), variables) or "cloud-watch-logs"
    dest = body.get("log_destination") or body.get("log_group_name")
    fl = TfFlowLog(
        address,
        refs,
        traffic if isinstance(traffic, str) else None,
        str(dtype),
        str(dest) if dest else None,
        unresolved=unresolved,
        traffic_type_missing="traffic_type" not in body,
    )
    role_expr = body.get("iam_role_arn")
    if isinstance(role_expr, str) and (m := _ROLE_REF.search(role_expr)) and m.group(1) in roles:
        fl.role_problem = _hcl_role_problem(f"aws_iam_role.{m.group(1)}", roles[m.group(1)], policy_docs)
    return fl


def _hcl_role_problem(address: str, role: dict[str, Any], policy_docs: dict[str, dict[str, Any]]) -> str | None:
    text = str(role.get("assume_role_policy", ""))
    services: list[str] = []
    doc_ref = re.search(r"data\.aws_iam_policy_document\.([A-Za-z0-9_-]+)\.json", text)
    if doc_ref and doc_ref.group(1) in policy_docs:
        body = json.dumps(policy_docs[doc_ref.group(1)])
        if '"Service"' in body or "Service" in body:
            services = re.findall(r"[a-z0-9.-]+\.amazonaws\.com", body)
    else:
        try:
            services = _principal_services_of(json.loads(text))
        except ValueError:
            services = [m.group(1) for m in _SERVICE.finditer(text)]
            services += re.findall(r"[a-z0-9.-]+\.amazonaws\.com", text)
    services = sorted(set(services))
    if not services or VPC_FLOW_LOGS_PRINCIPAL in services:
        return None
    return (
        f"{address} trusts {', '.join(services)}, not {VPC_FLOW_LOGS_PRINCIPAL}: delivery will fail with 'Access error'"
    )


def _principal_services_of(doc: Any) -> list[str]:
    out = []
    for stmt in (doc or {}).get("Statement", []) if isinstance(doc, dict) else []:
        svc = (stmt.get("Principal") or {}).get("Service") if isinstance(stmt.get("Principal"), dict) else None
        out += [svc] if isinstance(svc, str) else list(svc or [])
    return out


# -- terraform show -json -------------------------------------------------------------------------------
@dataclass
class _PlanResource:
    address: str
    module: str  # module instance address, "" for the root
    module_path: tuple[str, ...]  # module call names, instance keys dropped
    type: str
    name: str
    index: Any
    values: dict[str, Any]


def _walk_values(module: dict[str, Any], out: list[_PlanResource]) -> None:
    mod_addr = module.get("address", "")
    path = tuple(re.sub(r"\[.*?\]", "", p) for p in re.findall(r"module\.([^.\[]+(?:\[[^\]]*\])?)", mod_addr))
    for r in module.get("resources", []):
        if r.get("mode", "managed") != "managed":
            continue
        out.append(
            _PlanResource(r["address"], mod_addr, path, r["type"], r["name"], r.get("index"), r.get("values") or {})
        )
    for child in module.get("child_modules", []):
        _walk_values(child, out)


def _config_module(config_root: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    mod = config_root
    for name in path:
        mod = (mod.get("module_calls", {}).get(name) or {}).get("module", {})
    return mod


def _config_resource(config_root: dict[str, Any], r: _PlanResource) -> dict[str, Any]:
    mod = _config_module(config_root, r.module_path)
    for c in mod.get("resources", []):
        if c.get("type") == r.type and c.get("name") == r.name:
            return dict(c)
    return {}


def scan_plan_json(data: dict[str, Any], where: str) -> tuple[list[TfVpc], list[TfFlowLog]]:
    values = data.get("planned_values") or data.get("values")
    if not isinstance(values, dict) or "root_module" not in values:
        raise InputError("This JSON is not `terraform show -json` output (no planned_values or values).")
    resources: list[_PlanResource] = []
    _walk_values(values["root_module"], resources)
    config_root = (data.get("configuration") or {}).get("root_module", {})
    vpcs = [r for r in resources if r.type in VPC_TYPES]
    out_vpcs = [TfVpc(r.address, where, is_default=r.type == "aws_default_vpc") for r in vpcs]
    roles = {(r.module, r.name): r for r in resources if r.type == "aws_iam_role"}
    flow_logs: list[TfFlowLog] = []
    for r in resources:
        if r.type != "aws_flow_log":
            continue
        v = r.values
        conf = _config_resource(config_root, r)
        exprs = conf.get("expressions", {})
        refs = _link_vpc(r, v.get("vpc_id"), exprs.get("vpc_id", {}).get("references", []), vpcs, config_root)
        traffic = v.get("traffic_type")
        fl = TfFlowLog(
            r.address, refs, traffic, v.get("log_destination_type") or "cloud-watch-logs", v.get("log_destination")
        )
        # absent from the configuration and from the values: not set (an unknown value is in the configuration)
        fl.traffic_type_missing = bool(conf) and traffic is None and "traffic_type" not in exprs
        if not refs and (v.get("vpc_id") or exprs.get("vpc_id")):
            fl.unresolved = str(v.get("vpc_id") or exprs.get("vpc_id", {}).get("references"))
        for ref in exprs.get("iam_role_arn", {}).get("references", []):
            m = re.match(r"aws_iam_role\.([^.\[]+)", ref)
            role = roles.get((r.module, m.group(1))) if m else None
            if role and isinstance(role.values.get("assume_role_policy"), str):
                try:
                    doc = json.loads(role.values["assume_role_policy"])
                except ValueError:
                    continue
                problems, _ = assess_trust(
                    doc, principal=VPC_FLOW_LOGS_PRINCIPAL, account_id="*", source_arn_example=None
                )
                if problems and "does not let" in problems[0]:
                    fl.role_problem = f"{role.address}: {problems[0]}"
                break
        flow_logs.append(fl)
    return out_vpcs, flow_logs


def _link_vpc(
    fl: _PlanResource, known_id: Any, references: list[str], vpcs: list[_PlanResource], config_root: dict[str, Any]
) -> list[str]:
    if isinstance(known_id, str) and known_id:
        hits = [v.address for v in vpcs if v.values.get("id") == known_id]
        if hits:
            return hits
    same_module = [v for v in vpcs if v.module == fl.module]
    for ref in references:
        m = re.match(r"(aws_vpc|aws_default_vpc)\.([^.\[]+)(\[[^\]]*\])?", ref)
        if m:
            found = [v for v in same_module if v.type == m.group(1) and v.name == m.group(2)]
            if fl.index is not None and any(v.index == fl.index for v in found):
                found = [v for v in found if v.index == fl.index]
            if found:
                return [v.address for v in found]
        m = re.match(r"module\.([^.\[]+)", ref)
        if m:
            prefix = (fl.module + "." if fl.module else "") + f"module.{m.group(1)}"
            in_module = [v for v in vpcs if v.module == prefix or v.module.startswith(prefix + "[")]
            if len(in_module) == 1:
                return [in_module[0].address]
        m = re.match(r"var\.([^.\[]+)", ref)
        if m and fl.module_path:
            parent_path = fl.module_path[:-1]
            call = (_config_module(config_root, parent_path).get("module_calls") or {}).get(fl.module_path[-1], {})
            parent_refs = (call.get("expressions", {}).get(m.group(1)) or {}).get("references", [])
            parent_module = fl.module.rsplit(".module.", 1)[0] if ".module." in fl.module else ""
            parent = _PlanResource(fl.address, parent_module, parent_path, fl.type, fl.name, None, {})
            hits_addr = _link_vpc(parent, None, parent_refs, vpcs, config_root)
            if hits_addr:
                return hits_addr
    # a flow log inside a module instance that declares exactly one VPC (terraform-aws-modules/vpc: local.vpc_id),
    # or whose vpc_id is a local (the plan JSON does not carry locals' expressions) next to exactly one VPC
    via_local = any(ref.startswith("local.") for ref in references)
    if len(same_module) == 1 and (fl.module or via_local):
        return [same_module[0].address]
    return []
