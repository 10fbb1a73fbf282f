"""REJECT record -> the rule that dropped it -> the smallest fix (the contract of DESIGN.md "Explanation")."""

from vpcflow.explain.batch import ExplainRun, explain_relation, explain_table
from vpcflow.explain.causes import explain_causes
from vpcflow.explain.classify import Classification, classify
from vpcflow.explain.core import Explainer
from vpcflow.explain.model import Blocker, Cause, CauseReport, Explanation, Fix, RecordKey

__all__ = [
    "Blocker",
    "Cause",
    "CauseReport",
    "Classification",
    "ExplainRun",
    "Explainer",
    "Explanation",
    "Fix",
    "RecordKey",
    "classify",
    "explain_causes",
    "explain_relation",
    "explain_table",
]
