"""The spark-submit main file: ``vpcflow detect --engine spark`` on the cluster spark-submit configured.

    spark-submit --master yarn --packages org.apache.hadoop:hadoop-aws:3.4.1 \\
        "$(python -c 'import vpcflow.engines.spark_job as j; print(j.__file__)')" \\
        --path s3a://bucket/AWSLogs/ --since 2026-11-01 --findings-out s3a://bucket/findings/

The arguments are detect's, except that a job gates on nothing unless --fail-on is given: its work is
writing the findings, and a cluster marks a step that exits 1 as failed.
spark-submit's --master and --conf reach the session through SparkConf
(vpcflow never overrides them); ``python -m vpcflow.engines.spark_job`` does the same without it.
"""

from __future__ import annotations

import os
import sys
from typing import Any

if __name__ == "__main__":
    # Run as a file (spark-submit's main file), Python puts this folder first on the path, where
    # duckdb.py would shadow the duckdb package: keep only the installed packages' paths.
    _here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]


def main(argv: list[str] | None = None) -> Any:
    from vpcflow.cli import main as cli_main

    args = list(sys.argv[1:] if argv is None else argv)
    if not any(a == "--fail-on" or a.startswith("--fail-on=") for a in args):
        args = ["--fail-on", "none", *args]
    return cli_main(["detect", "--engine", "spark", *args])


if __name__ == "__main__":
    main()
