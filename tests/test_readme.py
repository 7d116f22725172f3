"""The README and the docs run as written: every ```python block is executed (the blocks of one file in
order, in one namespace, in a fresh process in a temporary directory), every ``relu-regions`` command line in a ```bash
block parses, and the README's set-up block is exactly what CI runs."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from relu_regions.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
#: The README and the guides whose examples must run as written (pages that need optional packages,
#: such as the ONNX guide, are tested where those packages are).
DOCS = [ROOT / "README.md", *(ROOT / "docs" / name for name in
                              ("index.md", "concepts.md", "own-data.md", "results-format.md", "cli.md",
                               "scale.md"))]
FENCE = re.compile(r"^```(\w+)\n(.*?)^```$", re.S | re.M)


def blocks(path: Path, language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(path.read_text()) if lang == language]


def test_the_readme_has_python_and_bash_blocks():
    assert len(blocks(ROOT / "README.md", "python")) >= 2
    assert len(blocks(ROOT / "README.md", "bash")) >= 3


@pytest.mark.parametrize("path", [
    pytest.param(p, marks=() if p.name == "README.md" else pytest.mark.slow)  # the README's in the quick run
    for p in DOCS if blocks(p, "python")], ids=lambda p: p.name)
def test_python_blocks_run(path, tmp_path):
    # In a fresh process, as a reader runs them (one namespace per file, blocks in order): a long test
    # process that has compiled hundreds of XLA programs is not what a reader has, and XLA crashed in one.
    script = tmp_path / "blocks.json"
    script.write_text(json.dumps({"name": path.name, "blocks": blocks(path, "python")}))
    out = subprocess.run([sys.executable, "-c", RUNNER, str(script)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=1800)
    assert out.returncode == 0, out.stderr[-4000:]


RUNNER = """
import json, sys
spec = json.load(open(sys.argv[1]))
namespace = {"__name__": "__readme__"}
for i, code in enumerate(spec["blocks"]):
    try:
        exec(compile(code, f"{spec['name']} python block {i + 1}", "exec"), namespace)
    except Exception as exc:  # say which block failed
        sys.exit(f"{spec['name']}, python block {i + 1} failed: {type(exc).__name__}: {exc}")
"""


def _command_lines(path: Path) -> list[str]:
    lines = []
    for body in blocks(path, "bash"):
        for line in body.splitlines():
            line = line.split(" #")[0].strip()
            if line.startswith("relu-regions "):
                lines.append(line)
    return lines


@pytest.mark.parametrize("path", [p for p in DOCS if _command_lines(p)], ids=lambda p: p.name)
def test_command_lines_parse(path):
    parser = build_parser()
    for line in _command_lines(path):
        args = parser.parse_args(shlex.split(line)[1:])
        assert callable(args.func), line


def test_setup_block_is_what_ci_runs():
    setup = ROOT.joinpath("README.md").read_text().split("## Set up", 1)[1]
    readme = [line.split(" #")[0].strip() for line in blocks_in(setup)[0].splitlines() if line.strip()]
    ci = ROOT.joinpath(".ci", "run").read_text().splitlines()
    ci_commands = [line.strip() for line in ci[ci.index("python -m pip install --quiet --upgrade pip") + 1:]
                   if line.strip() and not line.startswith("#")]
    assert readme == ci_commands


def blocks_in(text: str) -> list[str]:
    return [body for lang, body in FENCE.findall(text) if lang == "bash"]
