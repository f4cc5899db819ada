"""What the two entry points share: one-line errors instead of tracebacks, and argparse helpers."""
import argparse
import dataclasses
import math
import re
import sys
from types import SimpleNamespace

from latentcat.errors import UserError, user_facing  # noqa: F401 - the entry points' one import


def run(main, argv=None) -> int:
    """Call main(argv); a UserError (bad file, bad flag value) becomes `error: ...` and exit code 1."""
    try:
        return main(argv) or 0
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def defaults(config_class) -> SimpleNamespace:
    """The field defaults of a config dataclass, so that flags read them instead of restating them."""
    values = {}
    for f in dataclasses.fields(config_class):
        if f.default is not dataclasses.MISSING:
            values[f.name] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            values[f.name] = f.default_factory()
    return SimpleNamespace(**values)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def positive_int_or_auto(text: str) -> int | str:
    if text == "auto":
        return text
    try:
        return positive_int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer or auto, got {text}") from None


def layer_list(text: str) -> tuple[int, ...]:
    """w+ layers as the user writes them: 0-3, or 0,2,5-7."""
    layers = []
    try:
        for part in text.split(","):
            first, _, last = part.strip().partition("-")
            layers += range(int(first), int(last or first) + 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"layers are numbers and ranges like 0-3 or 0,2,5-7, got {text!r}") from None
    if not layers:
        raise argparse.ArgumentTypeError(f"no layer in {text!r} (a range is first-last, first <= last)")
    return tuple(layers)


def accept_negative_lists(parser) -> None:
    """Let values such as -3,-1.5,0 follow a flag: argparse (before Python 3.13) takes any word that starts with
    '-' and is not a plain negative number for an option."""
    parser._negative_number_matcher = re.compile(r"^-\.?\d")


def float_list(text: str) -> tuple[float, ...]:
    """Comma-separated numbers, e.g. -3,-1.5,0,1.5,3."""
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not all(math.isfinite(v) for v in values):
        raise argparse.ArgumentTypeError(f"numbers must be finite, got {text!r}")
    return values


class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show defaults in --help, but not the meaningless ones (None, False)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or "(default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def formatter(prog):
    return _DefaultsFormatter(prog, max_help_position=32, width=100)
