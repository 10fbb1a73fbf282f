"""Detections as code: SQL rules with metadata, run on DuckDB, Spark or Athena, producing findings."""

from vpcflow.detect.config import DetectConfig, load_config
from vpcflow.detect.loader import load_rules
from vpcflow.detect.model import SEVERITIES, Finding, Rule
from vpcflow.detect.runner import DetectResult, run_rules

__all__ = ["SEVERITIES", "DetectConfig", "DetectResult", "Finding", "Rule", "load_config", "load_rules", "run_rules"]
