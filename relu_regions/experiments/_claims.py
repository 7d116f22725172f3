"""The claim records experiments return, and how a verdict is reached.

A record is ``{"claim", "measured", "criterion", "verdict", "holds", "networks", "statistics"}``:
``verdict`` is one of :data:`~relu_regions.experiments._stats.VERDICTS` ("holds", "does not hold",
"inconclusive", "inconclusive (training target not reached)"), decided by the rule in ``criterion`` on
the bootstrap intervals in ``statistics``; ``holds`` is ``True``/``False``/``None`` (inconclusive) for
older readers; ``networks`` are the keys of the networks the claim rests on (``None``: those of the experiment; ``[]``: none,
the claim does not depend on training).
"""

from __future__ import annotations

from relu_regions.experiments._stats import FAILS, HOLDS, NOT_TRAINED, VERDICTS


def claim(text: str, measured: str, criterion: str, verdict, *, networks=None, statistics=None) -> dict:
    """One row of the report's claim table: the paper's ``text``, what we ``measured`` (numbers with
    intervals), the ``criterion`` (the decision rule, stated) and its ``verdict`` (a string of
    :data:`VERDICTS`; ``True``/``False``/``None`` are accepted for deterministic checks)."""
    if verdict is True or verdict is False:
        verdict = HOLDS if verdict else FAILS
    elif verdict is None:
        verdict = "inconclusive"
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {VERDICTS}, got {verdict!r}")
    return {"claim": text, "measured": measured, "criterion": criterion, "verdict": verdict,
            "holds": True if verdict == HOLDS else False if verdict == FAILS else None,
            "networks": None if networks is None else list(networks), "statistics": statistics or {}}


def apply_training_target(claims: list[dict], records: dict, default_networks) -> list[str]:
    """Mark every claim whose networks (its own list, else ``default_networks``; an empty list: a claim that
    does not depend on training, e.g. about the data or a mathematical inequality) include one that did not
    reach the paper's training target (100 % training accuracy) as :data:`NOT_TRAINED`; the verdict the
    data alone gave is kept as ``verdict_if_trained``. Returns the keys of the networks that missed it."""
    missed = set()
    for c in claims:
        keys = c.get("networks")
        keys = list(default_networks or []) if keys is None else keys
        bad = [k for k in keys if k in records and not records[k].get("reached_100pct", True)]
        if bad and c["verdict"] != NOT_TRAINED:
            c["verdict_if_trained"] = c["verdict"]
            c["verdict"], c["holds"] = NOT_TRAINED, None
            c["untrained_networks"] = bad
        missed.update(bad)
    return sorted(missed)
