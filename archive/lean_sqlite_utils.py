"""sqlite-utils without numpy and pandas in the processes that write the archive.

sqlite-utils imports numpy and pandas whenever they are installed, to convert their values
on insert. The archive's processes insert only their own records, and numpy alone adds about
12 MB to each (two crawler processes: 24 MB of a crawl's summed peak).
"""

from __future__ import annotations

import sys

NOT_NEEDED = ("numpy", "pandas")


def import_sqlite_utils_without_numpy() -> None:
    """Import sqlite_utils with numpy and pandas kept out of its import, unless it (or they)
    are imported already. Afterwards they import as usual for any other code of the process;
    sqlite-utils alone does without them (it converts no numpy or pandas values)."""
    if "sqlite_utils" in sys.modules:
        return
    kept_out = [name for name in NOT_NEEDED if name not in sys.modules]
    for name in kept_out:
        sys.modules[name] = None  # type: ignore[assignment]  # import fails: ImportError
    try:
        import sqlite_utils  # noqa: F401
    finally:
        for name in kept_out:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]
