"""boto3 sessions and clients built from the standard AWS environment.

Profiles, regions, credentials and ``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_<SERVICE>``) all work as
they do for the AWS CLI, because botocore reads them itself; vpcflow only adds the standard retry mode
and an optional explicit endpoint (used by tests against moto in server mode).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError, NoRegionError, ProfileNotFound

from vpcflow.errors import AwsAccessError

RETRY_CONFIG = Config(retries={"mode": "standard", "max_attempts": 8}, max_pool_connections=32)

T = TypeVar("T")


def make_session(profile: str | None = None, region: str | None = None) -> boto3.session.Session:
    return boto3.session.Session(profile_name=profile, region_name=region)


def client(
    service: str,
    *,
    session: boto3.session.Session | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
) -> Any:
    """A boto3 client with standard retries; ``endpoint_url`` overrides the environment's."""
    sess = session or make_session()
    kwargs: dict[str, Any] = {"config": RETRY_CONFIG}
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
    if isinstance(err, BotoCoreError):
        return f"Could not reach AWS while {what}: {err}."
    return f"Failed while {what}: {err}."


def aws_call(what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn`` and turn any AWS failure into an ``AwsAccessError`` with one sentence."""
    try:
        return fn(*args, **kwargs)
    except (ClientError, BotoCoreError) as err:
        raise AwsAccessError(describe_aws_error(err, what)) from err
