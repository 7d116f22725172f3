"""The claim records experiments return, and how a verdict is reached.

A record is ``{"claim", "measured", "criterion", "verdict", "why", "holds", "networks", "statistics"}``:
``verdict`` is one of :data:`~relu_regions.experiments._stats.VERDICTS` ("holds", "does not hold",
"inconclusive", "inconclusive (training target not reached)"), decided by the rule in ``criterion`` on
the bootstrap intervals in ``statistics``; ``why`` says, for an inconclusive verdict, why no decision was
reached (an interval across the rule's threshold or margin, no interval, or networks that missed the
training target), and is ``""`` otherwise; ``holds`` is ``True``/``False``/``None`` (inconclusive) for
older readers; ``networks`` are the keys of the networks the claim rests on (``None``: those of the experiment; ``[]``: none,
the claim does not depend on training).
"""

from __future__ import annotations

from relu_regions.experiments._stats import FAILS, HOLDS, INCONCLUSIVE, NOT_TRAINED, VERDICTS


def claim(text: str, measured: str, criterion: str, verdict, *, networks=None, statistics=None) -> dict:
    """One row of the report's claim table: the paper's ``text``, what we ``measured`` (numbers with
    intervals), the ``criterion`` (the decision rule, stated) and its ``verdict`` (a string of
    :data:`VERDICTS`, usually the :class:`~relu_regions.experiments._stats.Verdict` of ``decide``/``all_of``,
    whose ``why`` is kept; ``True``/``False``/``None`` are accepted for deterministic checks)."""
    why = getattr(verdict, "why", "")
    if verdict is True or verdict is False:
        verdict = HOLDS if verdict else FAILS
    elif verdict is None:
        verdict = INCONCLUSIVE
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {VERDICTS}, got {verdict!r}")
    verdict = str(verdict)
    if verdict == INCONCLUSIVE and not why:
        why = "no rule decided it"
    return {"claim": text, "measured": measured, "criterion": criterion, "verdict": verdict,
            "why": why if verdict != HOLDS and verdict != FAILS else "",
            "holds": True if verdict == HOLDS else False if verdict == FAILS else None,
            "networks": None if networks is None else list(networks), "statistics": statistics or {}}


def apply_training_target(claims: list[dict], records: dict, default_networks) -> list[str]:
    """Mark every claim whose networks (its own list, else ``default_networks``; an empty list: a claim that
    does not depend on training, e.g. about the data or a mathematical inequality) include one that did not
    reach the paper's training target (100 % training accuracy) as :data:`NOT_TRAINED`; the verdict the
    data alone gave is kept as ``verdict_if_trained`` (its reason as ``why_if_trained``), and ``why`` names
    the networks and the training accuracy they reached. Returns the keys of the networks that missed it."""
    missed = set()
    for c in claims:
        keys = c.get("networks")
        keys = list(default_networks or []) if keys is None else keys
        bad = [k for k in keys if k in records and not records[k].get("reached_100pct", True)]
        if bad and c["verdict"] != NOT_TRAINED:
            c["verdict_if_trained"] = c["verdict"]
            if c.get("why"):
                c["why_if_trained"] = c["why"]
            c["verdict"], c["holds"] = NOT_TRAINED, None
            c["untrained_networks"] = bad
            shown = ", ".join(_missed(k, records[k]) for k in bad[:4])
            more = f" and {len(bad) - 4} more" if len(bad) > 4 else ""
            c["why"] = f"training target (100% training accuracy) not reached by {shown}{more}"
        missed.update(bad)
    return sorted(missed)


def _missed(key: str, record: dict) -> str:
    """``key (training accuracy 0.687 after 500 epochs)``."""
    acc, epochs = record.get("final_train_acc"), record.get("epochs")
    if acc is None:
        return key
    return f"{key} (training accuracy {acc:.3f} after {epochs} epochs)"
