"""The claims ./lab claims checks (issue 13), one module per family: resources.py (1, 3, 4,
11), load.py (2, 5, 6, 7, 8), tooling.py (9, 10, 12). base.py is the data model, runs.py
finds the runs, drawing.py draws. ALL lists every claim in its number's order.
"""
from claim_checks import load, resources, tooling

ALL = sorted(resources.CLAIMS + load.CLAIMS + tooling.CLAIMS, key=lambda c: c.number)


def evaluate_all(evidence):
    """[Verdict] for every claim, in order."""
    return [claim.evaluate(claim, evidence) for claim in ALL]
