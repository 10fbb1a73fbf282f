"""REJECT record -> the rule that dropped it -> the smallest fix (the contract of DESIGN.md "Explanation")."""

from vpcflow.explain.batch import ExplainRun, explain_relation, explain_table
from vpcflow.explain.classify import Classification, classify
from vpcflow.explain.core import Explainer, RecordKey

__all__ = [
    "Classification",
    "ExplainRun",
    "Explainer",
    "RecordKey",
    "classify",
    "explain_relation",
    "explain_table",
]
