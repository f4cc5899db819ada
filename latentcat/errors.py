"""User-facing errors: one line, naming the file, caught by the CLIs."""


class UserError(Exception):
    """A problem with the user's input (a file, a flag); printed as one line, never a traceback."""

    def __init__(self, message: str, path=None):
        self.path = str(path) if path is not None else None
        self.reason = message  # without the path, for summaries that name the file separately
        super().__init__(f"{self.path}: {message}" if self.path else message)


def user_facing(call, *args, **kwargs):
    """Call into the engine with values the user chose: its ValueError (a config's validation, an unknown
    network or layer) becomes a one-line UserError."""
    try:
        return call(*args, **kwargs)
    except ValueError as e:
        raise UserError(str(e)) from None
