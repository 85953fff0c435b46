"""The data model of a claim's verdict, kept apart from how it is printed or drawn.

A Claim is a quoted statement with its source and an evaluate(evidence) function. Evaluating
gives a Verdict made of Parts: each part of a claim ("Go starts in milliseconds", "Java in
seconds") is supported, not supported or not measured yet (with the command that would
measure it), and carries the Figures behind it with their spread and flags. A part whose
figures carry a weakening flag (noisy, client-bound, overloaded) is "weak evidence" and never
a firm verdict. The overall verdict is derived from the parts (Verdict.status). Claims that
cannot be measured here are Verdicts with status NOT_MEASURABLE and their reasons.

Evidence is what the user's runs hold, by kind (see runs.py). Nothing here draws or prints.
"""
from dataclasses import dataclass, field
from typing import Callable, List, Optional

import results as res

SUPPORTED = "supported"
NOT_SUPPORTED = "not supported"
PARTLY = "partly"
NOT_MEASURED = "not measured yet"
NOT_MEASURABLE = "not measurable here"
WEAK = "weak evidence"

# Flags that make a figure weak evidence: the number may say more about the load generator,
# the machine's noise or a growing backlog than about the server. (noisy_machine: steal or
# other processes' CPU during the measurement, where the harness records it.)
WEAKENING_FLAGS = ("noisy", "client_bound", "overloaded", "noisy_machine")


@dataclass
class Figure:
    """One number behind a verdict: what it is, its median, spread and flags, and its run."""
    label: str
    value: Optional[float]
    unit: str = ""
    low: Optional[float] = None     # min over repetitions (None: one sample or no spread known)
    high: Optional[float] = None
    flags: List[str] = field(default_factory=list)
    run: str = ""                   # run folder name

    def weak_flags(self):
        return [f for f in self.flags if f in WEAKENING_FLAGS]

    def text(self):
        value = res.fmt_num(self.value)
        unit = f" {self.unit}" if self.unit else ""
        spread = ""
        if self.low is not None and self.high is not None and self.low != self.high:
            spread = f" ({res.fmt_num(self.low)}–{res.fmt_num(self.high)})"
        flags = f" [{', '.join(self.flags)}]" if self.flags else ""
        return f"{self.label}: {value}{unit}{spread}{flags}"


@dataclass
class Part:
    """One checkable part of a claim."""
    name: str                           # "Go starts in milliseconds"
    status: str                         # SUPPORTED, NOT_SUPPORTED or NOT_MEASURED
    detail: str = ""                    # why, in a sentence, with the deciding numbers
    figures: List[Figure] = field(default_factory=list)
    command: Optional[str] = None       # NOT_MEASURED: what would measure it

    def weak_flags(self):
        seen = []
        for f in self.figures:
            seen += [x for x in f.weak_flags() if x not in seen]
        return seen

    @property
    def weak(self):
        return self.status in (SUPPORTED, NOT_SUPPORTED) and bool(self.weak_flags())

    def verdict_text(self):
        if self.weak:
            return f"{WEAK} ({self.status}?; flagged {', '.join(self.weak_flags())})"
        return self.status


@dataclass
class Verdict:
    claim: "Claim"
    parts: List[Part] = field(default_factory=list)
    # NOT_MEASURABLE claims: why; measured ones: the scope the verdict covers (claims 13, 14)
    reasons: List[str] = field(default_factory=list)
    chart: Optional[Callable] = None     # chart(folder, context) -> [paths]; measured claims
    runs: List[str] = field(default_factory=list)       # run folders the verdict read

    @property
    def status(self):
        """The overall verdict: NOT_MEASURABLE, NOT_MEASURED when no part is measured, WEAK
        when a measured part is weak evidence, else SUPPORTED / NOT_SUPPORTED when every
        measured part agrees, PARTLY when they differ."""
        if self.claim.measurable is False:
            return NOT_MEASURABLE
        measured = [p for p in self.parts if p.status != NOT_MEASURED]
        if not measured:
            return NOT_MEASURED
        if any(p.weak for p in measured):
            return WEAK
        kinds = {p.status for p in measured}
        return kinds.pop() if len(kinds) == 1 else PARTLY

    def summary(self):
        """The verdict in one line: status, then which part holds and what is missing."""
        status = self.status
        if status == NOT_MEASURABLE:
            return status
        measured = [p for p in self.parts if p.status != NOT_MEASURED]
        missing = [p for p in self.parts if p.status == NOT_MEASURED]
        text = status
        if status in (PARTLY, WEAK):
            text += " (" + "; ".join(f"{p.name}: {p.verdict_text()}" for p in measured) + ")"
        if missing and measured:
            text += "; not measured yet: " + "; ".join(p.name for p in missing)
        return text

    def commands(self):
        out = []
        for p in self.parts:
            if p.status == NOT_MEASURED and p.command and p.command not in out:
                out.append(p.command)
        return out


@dataclass
class Claim:
    number: int
    title: str            # short: "Goroutine vs thread stack"
    quote: str            # the claim as stated
    source: str
    evaluate: Callable    # evaluate(evidence) -> Verdict
    measurable: bool = True


# ---- small helpers every claim family uses -------------------------------------------------

def stat_figure(label, record, metric, run_name, extra_flags=()):
    """A Figure from an aggregate/startup record and a metrics.Metric (displayed unit)."""
    t = metric.stat(record)
    flags = res.flags_of(record) if record.get("scenario") else list(record.get("flags") or [])
    flags += [f for f in extra_flags if f not in flags]
    if t is None:
        return Figure(label, None, metric.unit, flags=flags, run=run_name)
    return Figure(label, metric.shown(t[0]), metric.unit, metric.shown(t[1]),
                  metric.shown(t[2]), flags, run_name)


def articles(number):
    """The source of claims 1-7 and 9-12: the articles issue 13 quotes."""
    return f"Go vs Java vs Node.js backend articles (issue 13, claim {number})"


def none_measured(verdict, labels, command, detail=""):
    """The verdict with every part not measured yet (by `command`)."""
    verdict.parts = [not_measured(label, command, detail) for label in labels]
    return verdict


def not_measured(name, command, detail=""):
    return Part(name, NOT_MEASURED, detail or "no run of this kind was found", command=command)


def judged(name, holds, detail, figures):
    return Part(name, SUPPORTED if holds else NOT_SUPPORTED, detail, list(figures))


def by_language(service, language):
    """Server names of one language in a service run (sorted)."""
    return sorted(n for n, i in res.server_info(service).items()
                  if i.get("language") == language and i.get("status", "ok") in ("ok", None))


def run_name(run):
    return run.folder.name
