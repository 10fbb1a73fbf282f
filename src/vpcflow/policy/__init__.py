"""The policy engine: AWS security-group and network-ACL semantics for one flow and its response.

One engine serves ``explain`` (why was this rejected), ``check`` (would this pass) and ``simulate``
(what would AWS log). The API below is stable: add to it, do not rename.
"""

from vpcflow.policy.engine import DEFAULT_EPHEMERAL, Flow, FlowEvaluation, Hop, evaluate_flow
from vpcflow.policy.rules import NaclSegment, SgDecision, nacl_walk, sg_decide, via_middlebox

__all__ = [
    "DEFAULT_EPHEMERAL",
    "Flow",
    "FlowEvaluation",
    "Hop",
    "NaclSegment",
    "SgDecision",
    "evaluate_flow",
    "nacl_walk",
    "sg_decide",
    "via_middlebox",
]
