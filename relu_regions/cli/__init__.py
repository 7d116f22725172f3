"""The ``relu-regions`` command line: one subcommand per experiment, plus ``reproduce``, ``demo``,
``norms``, ``plane`` and ``gi``. Each private module here adds its subcommands with ``register(subparsers)``; a
subcommand's parser sets ``func(args) -> int``.

Start-up is lazy: :data:`COMMANDS` names every subcommand, its module and its one-line help, so
``relu-regions --help`` (and ``--version``) import neither JAX nor the experiments; only the module of
the subcommand that runs is imported. Expected failures (a missing path, an ``--out`` that is a file,
missing data, invalid values) end with a one-line ``relu-regions: error: ...`` and exit code 2, not a
traceback; set ``RELU_REGIONS_DEBUG=1`` to see the traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import sys
from pathlib import Path

_EXPERIMENTS = "relu_regions.cli._experiments"

#: Every subcommand: ``name -> (module that registers it, one-line help)``. The help strings are
#: shown by ``relu-regions --help`` without importing the module; tests/test_cli.py checks that this
#: table matches the registered parsers (add a new subcommand here too). A command missing from the
#: table still runs: an unknown command name makes :func:`main` load every module.
COMMANDS: dict[str, tuple[str, str]] = {
    "reproduce": (_EXPERIMENTS, "run every experiment of the paper and write report.md"),
    "fig1": (_EXPERIMENTS, "Fig. 1: outputs along same-class, different-class and random paths"),
    "fig2": (_EXPERIMENTS, "Fig. 2: tangent, normal and small-eigenvalue directions, real labels"),
    "fig3": (_EXPERIMENTS, "Fig. 3: tangent, normal and small-eigenvalue directions, random labels"),
    "fig4": (_EXPERIMENTS, "Fig. 4: pairwise GIs, real vs random, 28x28 / 14x14 / 7x7 MNIST"),
    "fig5": (_EXPERIMENTS, "Fig. 5: GIs along triangle mid-lines (class 5)"),
    "fig6": (_EXPERIMENTS, "Fig. 6: pairwise GIs for 1x512, 2x256, 3x128, 4x128"),
    "fig7": (_EXPERIMENTS, "Fig. 7: pairwise GIs on CIFAR-10"),
    "fig8": (_EXPERIMENTS, "Fig. 8: two moons: decision regions and pairwise GIs"),
    "fig9": (_EXPERIMENTS, "Fig. 9: mean GI during training vs train/validation accuracy"),
    "sensitivity": (_EXPERIMENTS, "study after Novak: sensitivity next to GIs across label noise (Novak et al. 2018)"),
    "hull": (_EXPERIMENTS, "study after Yousefzadeh: interpolation vs extrapolation: the training set's "
                           "convex hull (Yousefzadeh 2022)"),
    "layerwise": (_EXPERIMENTS, "study after Stephenson: GIs and regions layer by layer (Stephenson et al. 2021)"),
    "demo": (_EXPERIMENTS, "exact pairwise GIs, real vs random labels, on the embedded MNIST subset "
                           "(no downloads)"),
    "norms": ("relu_regions.cli._norms",
              "check the appendix's matrix inf-norm argument on trained MNIST networks"),
    "plane": ("relu_regions.cli._plane", "exact 2-D slices: every linear region and the decision boundary on a "
                                         "plane, as data and pictures"),
    "gi": ("relu_regions.cli._gi", "exact GIs of your own network on your own data (pairwise, random or PCA "
                                   "directions), per-ray results and a summary figure"),
}

#: Exit status of an expected error (argparse uses the same for usage errors).
EXIT_USAGE = 2


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("relu_regions")
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "unknown (not installed)"


class _VersionAction(argparse.Action):
    """``--version`` that looks the version up only when asked (importlib.metadata costs ~20 ms)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        parser._print_message(f"relu-regions {_version()}\n", sys.stdout)
        parser.exit()


class _Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line (``relu-regions gi: error: argument
    --n-rays: ...; see relu-regions gi --help``) instead of the usage text and the error; subparsers
    inherit the class. Negative numbers such as ``-inf`` or ``-1e-3`` are values, not options."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if hasattr(self, "_negative_number_matcher"):  # argparse's own: only -1, -.5, ...
            self._negative_number_matcher = re.compile(r"^-(\d+\.?\d*(e[-+]?\d+)?|\.\d+(e[-+]?\d+)?|inf|infinity)$",
                                                       re.IGNORECASE)

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(commands: list[str] | None = None) -> argparse.ArgumentParser:
    """The full parser. ``commands`` names the subcommands whose modules are imported and registered
    with all their options (default: all of them); the others get a placeholder parser that carries
    only their help line."""
    parser = _Parser(
        prog="relu-regions",
        description="Exact linear regions and generalization intervals of ReLU networks.")
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    wanted = list(COMMANDS) if commands is None else list(commands)
    modules = list(dict.fromkeys(COMMANDS[c][0] for c in wanted if c in COMMANDS))
    for module in modules:
        importlib.import_module(module).register(sub)
    # argparse lists subcommands in the order they were added; the real ones come first above, so
    # placeholders are added for the rest and the listing is re-sorted into the order of COMMANDS.
    for name, (_, help_text) in COMMANDS.items():
        if name not in sub.choices:
            sub.add_parser(name, help=help_text, add_help=False)
    order = {name: i for i, name in enumerate(COMMANDS)}
    sub._choices_actions.sort(key=lambda a: order.get(a.dest, len(order)))
    return parser


def _command_in(argv: list[str]) -> str | None:
    """The subcommand named in ``argv``: its first word that is not an option (the top-level parser
    has only ``-h`` and ``--version``, which take no value)."""
    for word in argv:
        if word == "--":
            return None
        if not word.startswith("-"):
            return word
    return None


def _check_paths(args: argparse.Namespace) -> None:
    """Fail early, with the path in the message, on paths the user named that cannot work."""
    data_dir = getattr(args, "data_dir", None)
    if data_dir is not None and not Path(data_dir).expanduser().is_dir():
        raise _UsageError(f"--data-dir {data_dir} does not exist or is not a directory (a path given "
                          "explicitly is never replaced by another data source)")
    for flag in ("out", "cache_dir"):
        value = getattr(args, flag, None)
        if value is None or not isinstance(value, (str, os.PathLike)):
            continue
        path = Path(value).expanduser()
        if path.exists() and not path.is_dir():
            raise _UsageError(f"--{flag.replace('_', '-')} {value} is an existing file, not a directory")
        for parent in path.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise _UsageError(f"--{flag.replace('_', '-')} {value}: {parent} is a file, not a directory")
                break


class _UsageError(Exception):
    """An error in what the user asked for, reported as one line with exit code 2."""


def _expected_errors() -> tuple[type[BaseException], ...]:
    """The error types reported as one line instead of a traceback: the package's own input errors and
    those of paths and values (a failed self-check, such as ``NormCheckError``, keeps its traceback).
    Only already-imported modules are consulted (nothing is imported for this)."""
    kinds: list[type[BaseException]] = [_UsageError, OSError, ValueError]
    for module, names in (("relu_regions._validate", ("ParamsError",)),
                          ("relu_regions._pieces", ("PieceCapacityError",)),
                          ("relu_regions.data._errors", ("DatasetNotFoundError",)),
                          ("relu_regions.results", ("ResultsError",)),
                          ("relu_regions.studies", ("StudyError",))):
        mod = sys.modules.get(module)
        for name in names:
            kind = getattr(mod, name, None) if mod is not None else None
            if isinstance(kind, type) and issubclass(kind, BaseException):
                kinds.append(kind)
    return tuple(kinds)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    lines = text.splitlines()
    if isinstance(exc, OSError) and exc.filename is not None and str(exc.filename) not in lines[0]:
        lines[0] = f"{lines[0]}: {exc.filename}"
    return "\n".join(lines)  # messages that need details (the places tried for data) keep them


def main(argv: list[str] | None = None) -> int:
    """Run ``relu-regions`` with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = _command_in(argv)
    if command is None:
        parser = build_parser([])  # --help, --version or a usage error: nothing heavy to import
    else:
        parser = build_parser([command] if command in COMMANDS else None)
    args = parser.parse_args(argv)
    try:
        _check_paths(args)
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("RELU_REGIONS_DEBUG") or not isinstance(exc, _expected_errors()):
            raise
        print(f"relu-regions {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE


__all__ = ["COMMANDS", "build_parser", "main"]
