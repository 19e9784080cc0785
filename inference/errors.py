"""User-facing errors: each says what went wrong and what to do about it.

The CLI prints ``str(error)`` without a traceback and exits with ``exit_code``; the add-on shows the
same text in Blender's status bar. Anything that is not a VividtalkError is a bug.
"""


class VividtalkError(Exception):
    """An input or environment problem the user can fix; the message names the fix."""

    exit_code = 2


class InputError(VividtalkError):
    """A missing, unreadable, corrupt or unsupported input file or option."""


class OutputError(VividtalkError):
    """The output cannot be written (missing folder, read-only location, disk full)."""

    exit_code = 3


class Cancelled(VividtalkError):
    """The job was cancelled by the caller (Esc in Blender, Ctrl+C on a terminal)."""

    exit_code = 130
