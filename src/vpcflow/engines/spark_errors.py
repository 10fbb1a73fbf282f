"""Spark's failures as one sentence carrying Spark's own message.

PySpark raises three families: its own ``PySparkException``, converted SQL errors (``AnalysisException``
...) and ``Py4JJavaError``, whose text starts with "An error occurred while calling o92.count" and then
a Java stack trace; the useful message sits in the Java exception and its causes, sometimes only in the
deepest cause. A missing S3A filesystem is a setup problem with a known fix, so it gets that fix.
"""

from __future__ import annotations

import re
from typing import Any

from vpcflow.errors import InputError

S3A_CLASS = "org.apache.hadoop.fs.s3a.S3AFileSystem"
_NO_S3A = re.compile(r"S3AFileSystem not found|No FileSystem for scheme \"?s3a\"?", re.IGNORECASE)
_SQLSTATE = re.compile(r"\s*SQLSTATE: \w+\.?\s*$")
_PY4J_CALL = re.compile(r"^An error occurred while calling [\w.]+\.?$")
MAX_MESSAGE = 400


def _first_line(text: str | None) -> str:
    for line in (text or "").splitlines():
        line = line.strip()
        if line and not _PY4J_CALL.match(line) and not line.startswith("at "):
            return _SQLSTATE.sub("", line.removeprefix(": ")).strip()
    return ""


def _java_chain(java: Any) -> list[tuple[str, str]]:
    """(class name, first line of the message) for a Java exception and each of its causes."""
    chain: list[tuple[str, str]] = []
    seen = 0
    while java is not None and seen < 20:
        try:
            chain.append((str(java.getClass().getName()), _first_line(java.getMessage())))
            java = java.getCause()
        except Exception:  # the gateway may be gone; what we have is enough
            break
        seen += 1
    return chain


def spark_message(err: BaseException) -> str:
    """The message Spark gave, on one line: the top message, and the root cause when it says more."""
    java = getattr(err, "java_exception", None) or getattr(err, "_origin", None)
    chain = _java_chain(java) if java is not None else []
    top = next((msg for _, msg in chain if msg), "")
    if not top and hasattr(err, "getMessage"):
        try:
            top = _first_line(str(err.getMessage()))
        except Exception:
            top = ""
    top = top or _first_line(str(err))
    named = [(cls, msg) for cls, msg in chain if msg]
    if named:
        root_cls, root_msg = named[-1]
        if root_msg not in top:
            top = f"{top} ({root_cls.rsplit('.', 1)[-1]}: {root_msg})" if top else root_msg
    if not top:
        top = chain[-1][0] if chain else type(err).__name__
    return top[:MAX_MESSAGE].rstrip(". ")


def missing_s3a(err: BaseException) -> bool:
    return bool(_NO_S3A.search(spark_message(err))) or bool(_NO_S3A.search(str(err)[:2000]))


def hadoop_version(spark: Any) -> str | None:
    """The Hadoop version Spark runs with, which the hadoop-aws package must match."""
    try:
        return str(spark._jvm.org.apache.hadoop.util.VersionInfo.getVersion())
    except Exception:  # Spark Connect has no JVM to ask
        return None


def s3a_sentence(version: str | None) -> str:
    package = f"org.apache.hadoop:hadoop-aws:{version}" if version else "org.apache.hadoop:hadoop-aws"
    matching = "" if version else " with the version of Spark's Hadoop"
    return (
        f"Spark cannot read s3a:// paths because the S3A filesystem ({S3A_CLASS}) is not on its classpath: "
        f"add {package}{matching} with spark-submit --packages or the spark.jars.packages setting "
        f"(--spark-conf spark.jars.packages={package})."
    )


def spark_failure(err: BaseException, doing: str, spark: Any = None) -> InputError:
    """The one-sentence error for a Spark failure while ``doing`` (e.g. 'read the flow logs')."""
    if missing_s3a(err):
        return InputError(s3a_sentence(hadoop_version(spark) if spark is not None else None))
    return InputError(f"Spark could not {doing}: {spark_message(err)}.")
