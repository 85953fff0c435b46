"""The claims ./lab claims checks (issues 13, 17), one module per family: resources.py (1, 3,
4, 11), load.py (2, 5, 6, 7, 8), tooling.py (9, 10, 12), field.py (13, 14: Rust and Python).
base.py is the data model, runs.py finds the runs, drawing.py draws. ALL lists every claim in
its number's order.
"""
from claim_checks import field, load, resources, tooling

ALL = sorted(resources.CLAIMS + load.CLAIMS + tooling.CLAIMS + field.CLAIMS,
             key=lambda c: c.number)


def evaluate_all(evidence):
    """[Verdict] for every claim, in order."""
    return [claim.evaluate(claim, evidence) for claim in ALL]
