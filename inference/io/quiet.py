"""Silencing native libraries that write straight to file descriptor 2 (MediaPipe's TFLite and glog lines).

Their "INFO: Created TensorFlow Lite XNNPACK delegate" chatter would otherwise fill every terminal and the
add-on's error tail. Python exceptions are unaffected: they are raised, not printed, inside the block.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real stderr (embedded interpreters): nothing to silence
        yield
        return
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
