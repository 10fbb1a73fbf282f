"""The audit: resolve the scope, read every account and region in parallel, grade every resource.

Shared VPCs are joined across accounts: a participant's view of a VPC owned by an account in the same
audit points at the owner's verdict instead of repeating (or contradicting) it.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from vpcflow.aws.session import describe_aws_error
from vpcflow.coverage.collect import check_roles, collect_region
from vpcflow.coverage.evaluate import AuditOptions, evaluate
from vpcflow.coverage.inventory import Inventory, load_snapshot
from vpcflow.coverage.model import AuditResult, Code, ScopeError, Verdict
from vpcflow.coverage.scope import Scope, ScopeRequest, resolve

Progress = Callable[[str, int, int], None]  # (what just finished, done, total)


class CallCounter:
    """Counts the AWS API calls an audit makes (a botocore ``before-call`` hook)."""

    def __init__(self) -> None:
        self.count = 0
        self.by_operation: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    def __call__(self, model: Any = None, **_: Any) -> None:
        with self._lock:
            self.count += 1
            if model is not None:
                self.by_operation[f"{model.service_model.service_name}:{model.name}"] += 1


def collect(
    scope: Scope, opts: AuditOptions, *, max_workers: int = 8, progress: Progress | None = None
) -> tuple[list[Inventory], list[ScopeError]]:
    """Every (account, region) of the scope, read in parallel; then each account's delivery roles."""
    tasks = [(acct, region) for acct in scope.accounts for region in scope.regions[acct.account_id]]
    inventories: list[Inventory] = []
    errors = [ScopeError(a, None, m) for a, m in scope.errors]
    done = 0
    with ThreadPoolExecutor(max_workers=max(1, max_workers)) as pool:
        futures = {pool.submit(collect_region, acct, region, opts): (acct, region) for acct, region in tasks}
        for fut in as_completed(futures):
            acct, region = futures[fut]
            done += 1
            try:
                inventories.append(fut.result())
            except (ClientError, BotoCoreError) as err:
                errors.append(ScopeError(acct.account_id, region, describe_aws_error(err, f"reading {region}")))
            if progress:
                progress(f"{acct.account_id} {region}", done, len(tasks))
        by_account: dict[str, list[Inventory]] = defaultdict(list)
        for inv in inventories:
            by_account[inv.account_id].append(inv)
        sessions = {a.account_id: a for a in scope.accounts}
        role_futures = {
            pool.submit(check_roles, sessions[acct_id], invs): acct_id for acct_id, invs in by_account.items()
        }
        for rf in as_completed(role_futures):
            try:
                rf.result()
            except (ClientError, BotoCoreError) as err:
                acct_id = role_futures[rf]
                errors.append(ScopeError(acct_id, None, describe_aws_error(err, "reading delivery roles")))
    inventories.sort(key=lambda i: (i.account_id, i.region))
    return inventories, errors


def grade(inventories: list[Inventory], opts: AuditOptions) -> list[Verdict]:
    verdicts: list[Verdict] = []
    for inv in inventories:
        verdicts.extend(evaluate(inv, opts))
    join_shared(verdicts)
    return verdicts


def join_shared(verdicts: list[Verdict]) -> None:
    """Point each SHARED_VPC verdict at the owner account's verdict when the owner was audited too."""
    owned = {
        (v.resource.account_id, v.resource.region, v.resource.resource_id): v
        for v in verdicts
        if v.code != Code.SHARED_VPC
    }
    for v in verdicts:
        if v.code != Code.SHARED_VPC:
            continue
        r = v.resource
        # a shared subnet is judged by its VPC's (or its own) verdict in the owner account
        for rid in (r.resource_id, r.vpc_id):
            owner_view = owned.get((r.owner_id, r.region, rid or ""))
            if owner_view:
                v.message += f"; there it is {owner_view.code} ({owner_view.message})"
                v.notes.append(f"owner verdict: {owner_view.code}")
                break
        else:
            v.message += f"; account {r.owner_id} is not in this audit's scope, audit it there"


def run_audit(
    req: ScopeRequest,
    opts: AuditOptions,
    *,
    max_workers: int = 8,
    progress: Progress | None = None,
) -> tuple[AuditResult, list[Inventory], Scope]:
    counter = CallCounter()
    scope = resolve(req, hooks=[counter])
    inventories, errors = collect(scope, opts, max_workers=max_workers, progress=progress)
    verdicts = grade(inventories, opts)
    result = AuditResult(
        verdicts=verdicts,
        errors=errors,
        generated_at=datetime.now(UTC),
        accounts=[a.account_id for a in scope.accounts],
        regions=sorted({r for rs in scope.regions.values() for r in rs}),
        api_calls=counter.count,
        options=opts.describe(),
    )
    return result, inventories, scope


def audit_snapshot(path: Path, opts: AuditOptions) -> AuditResult:
    """Grade a snapshot file offline: coverage, traffic type and status; destinations and roles unverified."""
    inventories = load_snapshot(path)
    verdicts = grade(inventories, opts)
    return AuditResult(
        verdicts=verdicts,
        generated_at=datetime.now(UTC),
        accounts=sorted({i.account_id for i in inventories}),
        regions=sorted({i.region for i in inventories}),
        options=opts.describe(),
    )
