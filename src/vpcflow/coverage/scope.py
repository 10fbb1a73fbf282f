"""Which accounts and regions to audit, and a session for each account.

One account is the caller's. Several are given by id (``--accounts``) or read from AWS Organizations
(``--organization``); vpcflow assumes a named role in each, except in the caller's own account where it
uses the caller's credentials. Assumed-role credentials refresh themselves, so an audit of a large
organization never dies of an expired session. Every account gets its own region list (opt-in regions
differ between accounts).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.session
from botocore.credentials import RefreshableCredentials
from botocore.exceptions import BotoCoreError, ClientError

from vpcflow.aws.session import RETRY_CONFIG, aws_call, describe_aws_error, make_session
from vpcflow.errors import AwsAccessError, InputError

ApiHook = Callable[..., None]


@dataclass
class AccountSession:
    """A boto3 session for one account, and a thread-safe way to make clients from it."""

    account_id: str
    session: boto3.session.Session
    via_role: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)
    hooks: list[ApiHook] = field(default_factory=list, repr=False)

    def client(self, service: str, region: str) -> Any:
        """One client per service and region, shared by threads (boto3 clients are thread-safe)."""
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                c = self.session.client(service, region_name=region, config=RETRY_CONFIG)  # type: ignore[call-overload]
                for hook in self.hooks:
                    c.meta.events.register("before-call", hook)
                self._clients[key] = c
            return self._clients[key]


@dataclass
class Scope:
    accounts: list[AccountSession]
    regions: dict[str, list[str]]  # account id -> regions
    errors: list[tuple[str | None, str]]  # (account, message) for accounts that could not be reached
    notes: list[str] = field(default_factory=list)  # accounts left out on purpose (suspended, excluded)


@dataclass
class ScopeRequest:
    regions: list[str] | None = None  # None or ["all"]: every region enabled in the account
    accounts: list[str] | None = None
    organization: bool = False
    exclude_accounts: list[str] = field(default_factory=list)
    role_name: str | None = None
    external_id: str | None = None
    session_name: str = "vpcflow"
    profile: str | None = None


def caller_account(session: boto3.session.Session) -> str:
    sts = session.client("sts", config=RETRY_CONFIG)  # type: ignore[call-overload]
    ident = aws_call("asking STS who the caller is", sts.get_caller_identity)
    return str(ident["Account"])


def _partition(session: boto3.session.Session) -> str:
    region = session.region_name or "us-east-1"
    return session.get_partition_for_region(region)


def assume_role_session(
    base: boto3.session.Session, role_arn: str, *, session_name: str, external_id: str | None
) -> boto3.session.Session:
    """A session whose credentials come from ``sts:AssumeRole`` and are refreshed before they expire."""
    sts = base.client("sts", config=RETRY_CONFIG)  # type: ignore[call-overload]

    def fetch() -> dict[str, Any]:
        kwargs: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": session_name}
        if external_id:
            kwargs["ExternalId"] = external_id
        creds = sts.assume_role(**kwargs)["Credentials"]
        expiry = creds["Expiration"]
        if isinstance(expiry, datetime):
            expiry = expiry.astimezone(UTC).isoformat()
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": expiry,
        }

    try:
        metadata = fetch()
    except (ClientError, BotoCoreError) as err:
        raise AwsAccessError(describe_aws_error(err, f"assuming role {role_arn}")) from err
    creds = RefreshableCredentials.create_from_metadata(metadata, refresh_using=fetch, method="sts-assume-role")
    bc = botocore.session.get_session()
    # share the caller's loaded service models: an organization has many accounts, not many APIs
    bc.register_component("data_loader", base._session.get_component("data_loader"))
    bc._credentials = creds  # type: ignore[attr-defined]
    return boto3.session.Session(botocore_session=bc, region_name=base.region_name)


def organization_accounts(session: boto3.session.Session) -> tuple[list[str], list[str]]:
    """Active account ids of the organization, and notes about the ones skipped (suspended, closing)."""
    org = session.client("organizations", config=RETRY_CONFIG)  # type: ignore[call-overload]
    active: list[str] = []
    skipped: list[str] = []
    try:
        for page in org.get_paginator("list_accounts").paginate():
            for acct in page["Accounts"]:
                state = acct.get("State") or acct.get("Status")
                if state == "ACTIVE":
                    active.append(str(acct["Id"]))
                else:
                    skipped.append(f"account {acct['Id']} skipped: it is {state}")
    except (ClientError, BotoCoreError) as err:
        raise AwsAccessError(
            describe_aws_error(
                err,
                "listing the organization's accounts (run from the management or a delegated administrator account)",
            )
        ) from err
    return active, skipped


def enabled_regions(acct: AccountSession, home_region: str) -> list[str]:
    ec2 = acct.client("ec2", home_region)
    resp = aws_call(f"listing the regions of account {acct.account_id}", ec2.describe_regions, AllRegions=False)
    return sorted(
        r["RegionName"] for r in resp["Regions"] if r.get("OptInStatus", "opt-in-not-required") != "not-opted-in"
    )


_LOADER: Any = None
_LOADER_LOCK = threading.Lock()


def _shared_loader(session: boto3.session.Session) -> None:
    """Parse the service models once per process (the EC2 model alone takes a second to load)."""
    global _LOADER
    with _LOADER_LOCK:
        if _LOADER is None:
            _LOADER = session._session.get_component("data_loader")
        else:
            session._session.register_component("data_loader", _LOADER)


def resolve(req: ScopeRequest, hooks: list[ApiHook] | None = None) -> Scope:
    """Sessions for every account in scope and the regions to audit in each."""
    base = make_session(req.profile)
    _shared_loader(base)
    home = base.region_name or "us-east-1"
    me = caller_account(base)
    hooks = hooks or []
    errors: list[tuple[str | None, str]] = []
    if req.organization:
        ids, notes = organization_accounts(base)
    else:
        ids, notes = list(req.accounts or [me]), []
    for acct in ids:
        if not (len(acct) == 12 and acct.isdigit()):
            raise InputError(f"{acct!r} is not an AWS account id (12 digits).")
    ids = [a for a in dict.fromkeys(ids) if a not in set(req.exclude_accounts)]
    if any(a != me for a in ids) and not req.role_name:
        raise InputError("Auditing other accounts needs --role-name, the role vpcflow assumes in each of them.")
    partition = _partition(base)
    sessions: list[AccountSession] = []
    for acct in ids:
        if acct == me:
            sessions.append(AccountSession(acct, base, hooks=list(hooks)))
            continue
        role_arn = f"arn:{partition}:iam::{acct}:role/{req.role_name}"
        try:
            sess = assume_role_session(base, role_arn, session_name=req.session_name, external_id=req.external_id)
        except AwsAccessError as err:
            errors.append((acct, err.sentence))
            continue
        sessions.append(AccountSession(acct, sess, via_role=role_arn, hooks=list(hooks)))
    regions: dict[str, list[str]] = {}
    wanted = [r for r in (req.regions or []) if r != "all"]
    for s in sessions:
        if wanted:
            regions[s.account_id] = list(wanted)
            continue
        try:
            regions[s.account_id] = enabled_regions(s, home)
        except AwsAccessError as err:
            errors.append((s.account_id, err.sentence))
    sessions = [s for s in sessions if s.account_id in regions]
    return Scope(sessions, regions, errors, notes)
