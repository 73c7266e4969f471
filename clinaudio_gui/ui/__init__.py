"""ui: Qt widgets, windows, workers (PySide6 and pyqtgraph live only here).

PySide6 6.12.0 has a reference-count bug: every time a signal calls a Python slot that returns
a value, that value loses one reference. pyqtgraph's slots return None / True / False on every
repaint, so on Python < 3.12 (where these singletons are not immortal) the app aborts with
"none_dealloc" / "bool_dealloc" after a few minutes of panning. 6.11.x does not have the bug.
Until a fixed release is pinned, give the three singletons a huge reference count at import,
which is what Python 3.12 does for them anyway (immortal objects).
"""
from __future__ import annotations

import sys


def _guard_pyside_refcount_bug() -> bool:
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    try:
        import PySide6
    except ImportError:
        return False
    if not PySide6.__version__.startswith("6.12."):
        return False
    import ctypes
    for obj in (None, True, False):
        ctypes.c_ssize_t.from_address(id(obj)).value += 1 << 40   # ob_refcnt is the first field
    return True


PYSIDE_REFCOUNT_GUARD = _guard_pyside_refcount_bug()
