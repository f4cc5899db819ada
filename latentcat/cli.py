"""What the two entry points share: one-line errors instead of tracebacks, and argparse helpers."""
import argparse
import dataclasses
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


class _DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Show defaults in --help, but not the meaningless ones (None, False)."""

    def _get_help_string(self, action):
        if action.default is None or action.default is False or "(default" in (action.help or ""):
            return action.help
        return super()._get_help_string(action)


def formatter(prog):
    return _DefaultsFormatter(prog, max_help_position=32, width=100)
