"""Imported at start-up by the Python processes the Athena stand-in's environment starts (its
``env`` puts this directory on PYTHONPATH): every botocore ``Loader`` in the process shares one
cache of the JSON models it has read.

dbt-athena opens a new boto3 session for each node it runs, and each session reads and decodes the
same endpoint and service models again: a third of the CPU of a stand-in build, for nothing that
changes between nodes. Test infrastructure only: what the loaders return is unchanged, and a
process without botocore is left alone.
"""

from __future__ import annotations

from typing import Any

try:
    from botocore import loaders
except ImportError:  # pragma: no cover - every stand-in process has botocore
    loaders = None

if loaders is not None:
    # One cache per search path list as the loader is made (boto3 then appends its own data
    # directory to every loader alike): loaders that look in other places keep their own.
    _SHARED: dict[tuple[str, ...], dict[Any, Any]] = {}
    _original_init = loaders.Loader.__init__

    def _init_with_shared_cache(self: Any, *args: Any, **kwargs: Any) -> None:
        _original_init(self, *args, **kwargs)
        self._cache = _SHARED.setdefault(tuple(self.search_paths), {})

    loaders.Loader.__init__ = _init_with_shared_cache
