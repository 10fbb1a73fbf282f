"""``vpcflow simulate``: the flow logs AWS would write for a VPC (a snapshot) and its traffic (a scenario).

Every record goes through the policy engine (``vpcflow.policy``) on every hop, request and response,
is logged by each interface a flow log covers from its own point of view, aggregated into capture
windows, written in the flow log's LogFormat and delivered as AWS delivers it; a labels file names the
scenario element behind each record. See ``run.simulate`` and ``examples``.
"""

from vpcflow.simulate.examples import EXAMPLES, example_paths, write_example
from vpcflow.simulate.run import Result, simulate
from vpcflow.simulate.scenario import Scenario, load_scenario, scenario_from_dict

__all__ = [
    "EXAMPLES",
    "Result",
    "Scenario",
    "example_paths",
    "load_scenario",
    "scenario_from_dict",
    "simulate",
    "write_example",
]
