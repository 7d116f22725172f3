"""``python -m relu_regions.experiments.readme_table RESULTS_JSON [--readme FILE] [--link PATH]``: the claim table
of a ``results.json`` written by ``relu-regions reproduce`` (:func:`~relu_regions.experiments.claim_table`),
printed, or written between the claim-table markers of a Markdown file (the README's table is made this way,
so that no number in it is typed by hand)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from relu_regions.experiments._report import claim_table, update_claim_table


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m relu_regions.experiments.readme_table",
                                description="Print the claim table of a results.json, or write it between the "
                                            "claim-table markers of a Markdown file.")
    p.add_argument("results", type=Path, help="results.json written by relu-regions reproduce")
    p.add_argument("--readme", type=Path, help="Markdown file whose claim-table markers receive the table")
    p.add_argument("--link", help="where the full report lies, linked in the caption (relative to the Markdown file)")
    args = p.parse_args(argv)
    table = claim_table(json.loads(args.results.read_text(encoding="utf-8")), args.link)
    if args.readme is None:
        print(table, end="")
    else:
        args.readme.write_text(update_claim_table(args.readme.read_text(encoding="utf-8"), table), encoding="utf-8")
        print(f"wrote the claim table into {args.readme}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
