"""Which SparkSession a run uses, and the few settings vpcflow needs on it for the run's length.

Under spark-submit, on Databricks or in an EMR notebook a session is already running (or spark-submit
has configured the one we start): its master and settings are the user's and are kept. vpcflow starts
its own local session only when nothing is configured, and then with small-machine defaults. Whatever
the session, the run needs UTC and timestamps without time zone (the store's are naive UTC); those are
session settings, set for the run and put back when it ends so a notebook's session is left as it was.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from vpcflow.engines.spark_errors import spark_failure, spark_message
from vpcflow.errors import InputError

RUN_SETTINGS: tuple[tuple[str, str], ...] = (
    ("spark.sql.session.timeZone", "UTC"),
    ("spark.sql.timestampType", "TIMESTAMP_NTZ"),
    ("spark.sql.parquet.inferTimestampNTZ.enabled", "true"),
)
"""Needed for correct times on any session: set for the run, restored after."""

LOCAL_DEFAULTS: tuple[tuple[str, str], ...] = (
    ("spark.sql.shuffle.partitions", "8"),
    ("spark.ui.enabled", "false"),
    ("spark.ui.showConsoleProgress", "false"),
    ("spark.driver.extraJavaOptions", "-Duser.timezone=UTC"),
)
"""For a local session vpcflow starts itself (a laptop, CI), unless the user configured them."""

DEFAULT_MASTER = "local[*]"


@dataclass(frozen=True)
class SparkSettings:
    """What the user asked for: a master (only for a session vpcflow starts) and settings to pass through."""

    master: str | None = None
    conf: tuple[tuple[str, str], ...] = ()


def parse_conf(assignments: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """``KEY=VALUE`` strings (``--spark-conf``) as pairs; anything else is a usage error."""
    pairs = []
    for text in assignments:
        key, sep, value = text.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--spark-conf takes KEY=VALUE (e.g. spark.sql.shuffle.partitions=64), not {text!r}.")
        pairs.append((key.strip(), value.strip()))
    return tuple(pairs)


@dataclass(frozen=True)
class SessionInfo:
    """What the run is really using, reported to the user (and checked by the spark-submit test)."""

    origin: str  # "active": the session that was running; "started": one vpcflow started
    master: str
    shuffle_partitions: str

    def describe(self) -> str:
        return (
            f"Spark {'active session' if self.origin == 'active' else 'session'} on {self.master}, "
            f"spark.sql.shuffle.partitions={self.shuffle_partitions}"
        )


class SparkRun:
    """The session of one run and the session settings to put back when it ends."""

    def __init__(self, spark: Any, origin: str, restore: list[tuple[str, str | None]]) -> None:
        self.spark = spark
        self.origin = origin
        self._restore = restore

    @property
    def info(self) -> SessionInfo:
        conf = self.spark.conf
        master = _get(conf, "spark.master") or "unknown"
        return SessionInfo(self.origin, master, _get(conf, "spark.sql.shuffle.partitions") or "default")

    def close(self) -> None:
        for key, value in reversed(self._restore):
            try:
                if value is None:
                    self.spark.conf.unset(key)
                else:
                    self.spark.conf.set(key, value)
            except Exception:  # a stopped session has nothing left to restore
                return
        self._restore.clear()


def _get(conf: Any, key: str) -> str | None:
    try:
        value = conf.get(key, None)
    except Exception:  # Spark Connect refuses some keys
        return None
    return None if value is None else str(value)


def _apply(spark: Any, settings: Iterable[tuple[str, str]]) -> list[tuple[str, str | None]]:
    restore: list[tuple[str, str | None]] = []
    for key, value in settings:
        before = _get(spark.conf, key)
        try:
            spark.conf.set(key, value)
        except Exception as err:
            raise InputError(
                f"The running Spark session does not accept {key}={value} now ({spark_message(err)}): "
                "give it when the session starts (spark-submit --conf, the cluster's Spark config)."
            ) from err
        restore.append((key, before))
    return restore


def _builder_session(settings: SparkSettings) -> Any:
    """A session from SparkConf (spark-submit's --master/--conf, spark-defaults.conf) and our defaults.

    spark-submit does not start a session for a Python job; it puts its settings where ``SparkConf``
    reads them. A default of ours applies only where neither spark-submit nor the user set the key.
    """
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", os.environ.get("PYSPARK_PYTHON", "python3"))
    if os.environ.get("PYSPARK_GATEWAY_PORT"):
        # spark-submit started the JVM with its settings: connect to it so SparkConf can read them.
        # (Otherwise the JVM is started by getOrCreate below, with the builder's settings, so that
        # launch-time ones such as spark.jars.packages or spark.driver.memory still apply.)
        SparkContext._ensure_initialized()
    conf = SparkConf()
    builder = SparkSession.builder.appName("vpcflow-detect")
    user = dict(settings.conf)
    master = settings.master or user.pop("spark.master", None) or conf.get("spark.master", None)
    local = master is None or master.startswith("local")
    builder = builder.master(master or DEFAULT_MASTER)
    if local:
        for key, value in LOCAL_DEFAULTS:
            if not conf.contains(key) and key not in user:
                builder = builder.config(key, value)
    for key, value in user.items():
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    if local:
        spark.sparkContext.setLogLevel("ERROR")
    return spark


def acquire(settings: SparkSettings) -> SparkRun:
    """The session to run on: the active one (its master and settings) or one started from SparkConf."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as err:
        raise InputError("--engine spark needs PySpark: pip install 'vpcflow[spark]'.") from err
    try:
        active = SparkSession.getActiveSession()
    except Exception:  # no gateway yet
        active = None
    try:
        if active is not None:
            restore = _apply(active, settings.conf)  # the user's pass-through settings, on top of the session's
            return SparkRun(active, "active", restore + _apply(active, RUN_SETTINGS))
        spark = _builder_session(settings)
        return SparkRun(spark, "started", _apply(spark, RUN_SETTINGS))
    except InputError:
        raise
    except Exception as err:  # Java missing, a bad setting: Spark's own words
        raise spark_failure(err, "start a session") from err
