"""boto3 sessions and clients built from the standard AWS environment.

Profiles, regions, credentials and ``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_<SERVICE>``) all work as
they do for the AWS CLI, because botocore reads them itself; vpcflow adds the standard retry mode, an
optional explicit endpoint (used by tests against moto in server mode), and a bound on every wait:
botocore's defaults (60 s to connect and 60 s per read, retried) hold a command for minutes on an
endpoint that accepts connections and never answers. Here each attempt waits ``timeout`` seconds at
most (``--aws-timeout`` or ``VPCFLOW_AWS_TIMEOUT``, default 10) and a request is tried
``MAX_ATTEMPTS`` times, so the whole wait is bounded and then named in one sentence.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    ProfileNotFound,
    ReadTimeoutError,
)

from vpcflow.errors import AwsAccessError, InputError

DEFAULT_TIMEOUT = 10.0
"""Seconds to connect, and to wait for each read, per attempt."""
MAX_ATTEMPTS = 3
TIMEOUT_ENV = "VPCFLOW_AWS_TIMEOUT"

T = TypeVar("T")


def _env_timeout() -> float:
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value <= 0:
        raise InputError(f"{TIMEOUT_ENV} must be a number of seconds above 0, not {text!r}.")
    return value


def client_config(timeout: float | None = None) -> Config:
    """Standard retries, a few attempts, and connect/read time-outs of ``timeout`` seconds."""
    seconds = timeout if timeout is not None else _env_timeout()
    return Config(
        retries={"mode": "standard", "max_attempts": MAX_ATTEMPTS},
        max_pool_connections=32,
        connect_timeout=seconds,
        read_timeout=seconds,
    )


def _timeout_or_default() -> float:
    try:
        return _env_timeout()
    except InputError:  # reported when a client is made, as one sentence, not at import
        return DEFAULT_TIMEOUT


RETRY_CONFIG = client_config(_timeout_or_default())
"""The configuration of clients made outside ``client`` (audit); ``set_timeout`` replaces it."""
_timeout: float | None = None


def set_timeout(seconds: float) -> None:
    """Use ``seconds`` (``--aws-timeout``) for every client made from now on."""
    global _timeout, RETRY_CONFIG
    _timeout = seconds
    RETRY_CONFIG = client_config(seconds)


def current_timeout() -> float:
    return _timeout if _timeout is not None else _env_timeout()


def make_session(profile: str | None = None, region: str | None = None) -> boto3.session.Session:
    return boto3.session.Session(profile_name=profile, region_name=region)


def client(
    service: str,
    *,
    session: boto3.session.Session | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
) -> Any:
    """A boto3 client with standard retries and bounded waits; ``endpoint_url`` overrides the environment's."""
    sess = session or make_session()
    kwargs: dict[str, Any] = {"config": client_config(current_timeout())}
    if region:
        kwargs["region_name"] = region
    if endpoint_url:
        kwargs["endpoint_url"] = endpoint_url
    try:
        return sess.client(service, **kwargs)  # type: ignore[call-overload]
    except NoRegionError as err:
        raise AwsAccessError("No AWS region is set: pass --region or set AWS_REGION.") from err


def describe_aws_error(err: Exception, what: str) -> str:
    """One sentence for an AWS failure while doing ``what`` (e.g. "reading bucket my-logs")."""
    if isinstance(err, ProfileNotFound):
        return f"The AWS profile {err.kwargs.get('profile')!r} is not in the AWS config or credentials files."
    if isinstance(err, NoCredentialsError):
        return f"No AWS credentials were found while {what}: set a profile or AWS_ACCESS_KEY_ID."
    if isinstance(err, ClientError):
        code = err.response.get("Error", {}).get("Code", "Error")
        message = err.response.get("Error", {}).get("Message", "") or code
        return f"AWS refused {what}: {code}: {message.rstrip('.')}."
    if isinstance(err, (ReadTimeoutError, ConnectTimeoutError)):
        endpoint = err.kwargs.get("endpoint_url", "the AWS endpoint")
        verb = "did not answer" if isinstance(err, ReadTimeoutError) else "could not be connected to"
        return (
            f"The endpoint {endpoint} {verb} within {current_timeout():g} s ({MAX_ATTEMPTS} attempts) while "
            f"{what}: check the network and AWS_ENDPOINT_URL, or allow longer with --aws-timeout."
        )
    if isinstance(err, EndpointConnectionError):
        endpoint = err.kwargs.get("endpoint_url", "the AWS endpoint")
        return f"Could not connect to {endpoint} while {what}: check the network and AWS_ENDPOINT_URL."
    if isinstance(err, BotoCoreError):
        return f"Could not reach AWS while {what}: {err}."
    return f"Failed while {what}: {err}."


def aws_call(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn`` and turn any AWS failure into an ``AwsAccessError`` with one sentence."""
    try:
        return fn(*args, **kwargs)
    except (ClientError, BotoCoreError) as err:
        raise AwsAccessError(describe_aws_error(err, what)) from err
