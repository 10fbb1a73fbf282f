"""S3 reader against moto in server mode, with objects named and laid out exactly as AWS delivers them."""

from __future__ import annotations

import gzip
import io
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from tests.sources import flowdata
from tests.sources.flowdata import BUCKET, A, B, C, D
from vpcflow.aws.session import client
from vpcflow.errors import AwsAccessError, InputError
from vpcflow.records.logformat import DEFAULT_LAYOUT
from vpcflow.sources.s3 import list_s3_sources
from vpcflow.sources.s3layout import parse_key


@dataclass
class Recorder:
    """Every ListObjectsV2 and GetObject a client makes: the proof of what was listed and downloaded."""

    listed: list[tuple[str, bool]] = field(default_factory=list)  # (prefix, with delimiter)
    downloaded: list[str] = field(default_factory=list)

    def attach(self, s3: Any) -> Any:
        s3.meta.events.register("before-parameter-build.s3.ListObjectsV2", self._list)
        s3.meta.events.register("before-parameter-build.s3.GetObject", self._get)
        return s3

    def _list(self, params: dict[str, Any], **_: Any) -> None:
        self.listed.append((params.get("Prefix", ""), "Delimiter" in params))

    def _get(self, params: dict[str, Any], **_: Any) -> None:
        self.downloaded.append(params["Key"])


@pytest.fixture
def estate(aws: str) -> dict[str, bytes]:
    return flowdata.put_estate()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def _list(recorder: Recorder, uri: str = f"s3://{BUCKET}", **filters: Any) -> dict[str, Any]:
    s3 = recorder.attach(client("s3"))
    return {src.uri.removeprefix(f"s3://{BUCKET}/"): src for src in list_s3_sources(uri, s3_client=s3, **filters)}


def _read_all(sources: dict[str, Any]) -> dict[str, bytes]:
    with ThreadPoolExecutor(max_workers=8) as pool:
        bodies = pool.map(lambda s: s.open().read(), sources.values())
        return dict(zip(sources, bodies, strict=True))


def test_every_layout_is_found_and_read(estate: dict[str, bytes], recorder: Recorder) -> None:
    sources = _list(recorder)
    assert set(sources) == set(estate)
    assert len(sources) == 45
    s3 = client("s3")
    for key, src in sources.items():
        info = parse_key(key)
        assert info is not None
        assert (src.account_id, src.region) == (info.account_id, info.region)
        assert src.kind == ("parquet" if key.endswith(".log.parquet") else "text")
        assert src.size == len(estate[key])
        assert src.version == s3.head_object(Bucket=BUCKET, Key=key)["ETag"].strip('"')
        assert src.layout is None  # the header line (or the Parquet schema) decides
    # opened from a thread pool, every object comes back byte for byte
    assert _read_all(sources) == estate
    assert sorted(recorder.downloaded) == sorted(estate)


def test_contents_are_flow_logs_as_delivered(estate: dict[str, bytes], recorder: Recorder) -> None:
    sources = _list(recorder, accounts=[A, D], regions=["us-west-2", "us-east-1"])
    text = next(s for s in sources.values() if s.kind == "text")
    lines = gzip.decompress(text.open().read()).decode().splitlines()
    assert lines[0] == DEFAULT_LAYOUT.header()
    assert len(lines) == 4
    pq_source = next(s for s in sources.values() if s.kind == "parquet")
    table = pq.read_table(io.BytesIO(pq_source.open().read()))
    assert "log_status" in table.column_names and table.num_rows == 3


def test_accounts_prune_before_listing_deeper(estate: dict[str, bytes], recorder: Recorder) -> None:
    sources = _list(recorder, accounts=[B])
    assert set(sources) == {k for k in estate if f"aws-account-id={B}/" in k}
    assert len(sources) == 9
    _read_all(sources)
    assert len(recorder.downloaded) == 9
    listed = [prefix for prefix, _ in recorder.listed]
    assert not [p for p in listed if A in p or C in p or D in p]


def test_regions_are_built_not_listed(estate: dict[str, bytes], recorder: Recorder) -> None:
    sources = _list(recorder, regions=["eu-west-1"])
    assert len(sources) == 9 and all(s.region == "eu-west-1" for s in sources.values())
    listed = [prefix for prefix, _ in recorder.listed]
    assert not [p for p in listed if "us-east-1" in p or "us-west-2" in p]
    assert not [p for p in listed if p.endswith("vpcflowlogs/")]  # no region discovery call
    _read_all(sources)
    assert len(recorder.downloaded) == 9


def test_time_window_prunes_days_hours_and_files(estate: dict[str, bytes], recorder: Recorder) -> None:
    since = datetime(2024, 5, 2, 11, 0)  # naive = UTC
    until = datetime(2024, 5, 2, 13, 0)
    sources = _list(recorder, since=since, until=until)
    # one 12:00 file per (account, region): A twice, B, C, D once
    assert sorted(sources) == sorted(k for k in estate if "_20240502T1200Z_" in k)
    assert len(sources) == 5
    _read_all(sources)
    assert len(recorder.downloaded) == 5
    listed = [prefix for prefix, _ in recorder.listed]
    assert not [p for p in listed if "/2024/05/01/" in p or "/2024/05/03/" in p or "day=01" in p or "day=03" in p]
    hour_folders = [p for p in listed if p.rstrip("/").rsplit("/", 1)[-1].removeprefix("hour=") in {"00", "23"}]
    assert hour_folders == []  # hourly folders outside 10:55-13:11 are never listed
    assert any(p.endswith("/2024/05/02/12/") for p in listed)
    assert any(p.endswith("/day=02/hour=12/") for p in listed)


def test_since_alone_and_until_alone(estate: dict[str, bytes], recorder: Recorder) -> None:
    late = _list(recorder, since=datetime(2024, 5, 3, 12, 0, tzinfo=UTC))
    assert {parse_key(k).timestamp.hour for k in late} == {12, 23}  # type: ignore[union-attr]
    assert {parse_key(k).date.day for k in late} == {3}  # type: ignore[union-attr]
    early = _list(Recorder(), until=datetime(2024, 5, 1, 11, 0, tzinfo=UTC))
    assert len(early) == 5 and all("_20240501T0000Z_" in k for k in early)


def test_bucket_prefix_and_prefix_inside_awslogs(aws: str, recorder: Recorder) -> None:
    uploaded = flowdata.put_estate(prefix="team/flow")
    assert set(_list(recorder, f"s3://{BUCKET}/team/flow/")) == set(uploaded)
    assert set(_list(Recorder(), f"s3://{BUCKET}/team/flow")) == set(uploaded)
    with pytest.raises(InputError) as err:  # the prefix must be the one AWS was given
        _list(Recorder(), f"s3://{BUCKET}/team")
    assert err.value.sentence == (
        f"s3://{BUCKET}/team/AWSLogs/ holds no flow logs: give the bucket and prefix the flow log delivers to "
        "(the folder holding AWSLogs/)."
    )
    inside = _list(Recorder(), f"s3://{BUCKET}/team/flow/AWSLogs/{A}/", since=datetime(2024, 5, 3))
    assert len(inside) == 6 and all(f"/{A}/" in k and "/2024/05/03/" in k for k in inside)


def test_missing_bucket_is_one_sentence(aws: str) -> None:
    with pytest.raises(AwsAccessError) as err:
        list(list_s3_sources("s3://no-such-bucket/logs"))
    assert err.value.sentence == (
        "AWS refused listing s3://no-such-bucket/logs/AWSLogs/: NoSuchBucket: The specified bucket does not exist."
    )


@pytest.mark.parametrize(
    ("uri", "filters", "sentence"),
    [
        ("bucket/prefix", {}, "Not an S3 location: 'bucket/prefix' (expected s3://bucket/prefix)."),
        ("s3:///prefix", {}, "The S3 location 's3:///prefix' names no bucket."),
        (f"s3://{BUCKET}", {"accounts": ["12345", A]}, "Not an AWS account ID: 12345."),
        (f"s3://{BUCKET}", {"regions": ["US-EAST-1"]}, "Not an AWS region: US-EAST-1."),
        (
            f"s3://{BUCKET}",
            {"since": datetime(2024, 5, 2), "until": datetime(2024, 5, 1)},
            "--since must be before --until.",
        ),
    ],
)
def test_bad_arguments_are_one_sentence(aws: str, uri: str, filters: dict[str, Any], sentence: str) -> None:
    with pytest.raises(InputError) as err:
        list(list_s3_sources(uri, **filters))
    assert err.value.sentence == sentence


def test_wrong_credentials_are_one_sentence(enforce_auth: None) -> None:
    with pytest.raises(AwsAccessError) as err:
        list(list_s3_sources(f"s3://{BUCKET}"))
    assert err.value.sentence.startswith(f"AWS refused listing s3://{BUCKET}/AWSLogs/: InvalidAccessKeyId: ")
    assert "\n" not in err.value.sentence


def test_no_credentials_are_one_sentence(aws: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(AwsAccessError) as err:
        list(list_s3_sources(f"s3://{BUCKET}"))
    assert err.value.sentence == (
        f"No AWS credentials were found while listing s3://{BUCKET}/AWSLogs/: set a profile or AWS_ACCESS_KEY_ID."
    )


def test_profiles_work_and_a_missing_one_is_one_sentence(
    estate: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name)
    config = tmp_path / "config"
    config.write_text("[profile flowlogs-reader]\nregion = eu-west-1\n")
    credentials = tmp_path / "credentials"
    credentials.write_text("[flowlogs-reader]\naws_access_key_id = testing\naws_secret_access_key = testing\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_PROFILE", "flowlogs-reader")
    sources = list(list_s3_sources(f"s3://{BUCKET}", accounts=[D]))  # reached through AWS_ENDPOINT_URL
    assert len(sources) == 9
    monkeypatch.setenv("AWS_PROFILE", "nobody")
    with pytest.raises(AwsAccessError) as err:
        list(list_s3_sources(f"s3://{BUCKET}"))
    assert err.value.sentence == ("The AWS profile 'nobody' is not in the AWS config or credentials files.")
