"""What the two entry points share: one-line errors instead of tracebacks, and argparse helpers."""
import argparse
import sys

from latentcat.errors import UserError


def run(main, argv=None) -> int:
    """Call main(argv); a UserError (bad file, bad flag value) becomes `error: ...` and exit code 1."""
    try:
        return main(argv) or 0
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    except ValueError as e:  # config validation (__post_init__) of values that came from flags
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def formatter(prog):
    return argparse.ArgumentDefaultsHelpFormatter(prog, max_help_position=32, width=100)
