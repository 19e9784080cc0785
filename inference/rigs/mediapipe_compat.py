"""Importing MediaPipe 0.10.21 quietly and quickly: ``prepare_mediapipe_import`` before the first import.

- **Protobuf 6** (the version Ray needs): MediaPipe's compiled graph code still calls
  ``MessageFactory.GetPrototype``, which protobuf 5 removed in favour of ``message_factory.GetMessageClass``.
  Without the method every graph run prints an AttributeError to stderr (the landmarks still come out). Putting
  the one method back, as protobuf's own migration note maps it, changes nothing else.
- **matplotlib**: importing any of MediaPipe's solutions runs its package's ``__init__``, which imports the
  drawing helpers, which import ``matplotlib.pyplot`` at the top (0.65-0.8 s on its own, cold), for plotting
  vividtalk never does. Stand-ins for matplotlib and pyplot take their place in ``sys.modules`` until something
  asks one of them for an attribute; then the real modules are imported. Importing the face mesh took 0.69-0.86
  s, with the stand-ins 0.40-0.47 s; ``vividtalk rig --image`` 1.55-1.65 s, now 0.98-1.03 s. (The
  standard library's ``LazyLoader`` does not serve here: the import statement itself reads the module's
  ``__spec__``, and that loads it.)
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from types import ModuleType


def prepare_mediapipe_import() -> None:
    """Call before mediapipe is imported (it looks the protobuf method up, and imports pyplot, as it loads)."""
    _restore_get_prototype()
    _defer_pyplot()


def _restore_get_prototype() -> None:
    from google.protobuf import message_factory

    if not hasattr(message_factory.MessageFactory, "GetPrototype"):
        def get_prototype(_factory, descriptor):
            return message_factory.GetMessageClass(descriptor)

        message_factory.MessageFactory.GetPrototype = get_prototype


_STAND_INS = ("matplotlib", "matplotlib.pyplot")


class _ImportedOnFirstUse(ModuleType):
    """Stands in for a module until an attribute it lacks is asked for, then hands over to the real one."""

    pyplot: ModuleType  # on the stand-in for matplotlib: what `import matplotlib.pyplot as plt` reads off it

    def __getattr__(self, name: str):
        return getattr(_import_for_real(self.__name__), name)


def _import_for_real(name: str) -> ModuleType:
    for key in _STAND_INS:
        if isinstance(sys.modules.get(key), _ImportedOnFirstUse):
            del sys.modules[key]
    return importlib.import_module(name)


def _defer_pyplot() -> None:
    """Stand-ins for matplotlib and matplotlib.pyplot, unless matplotlib is imported already (or missing)."""
    if "matplotlib" in sys.modules or importlib.util.find_spec("matplotlib") is None:
        return
    package, pyplot = (_ImportedOnFirstUse(name) for name in _STAND_INS)
    package.pyplot = pyplot  # what `import matplotlib.pyplot as plt` reads off the package
    sys.modules.update({"matplotlib": package, "matplotlib.pyplot": pyplot})
