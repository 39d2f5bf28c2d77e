"""Import a Python file that is not part of a package (a benchmark in scripts/, a lint tool in
lint/) by its path, without putting its folder on the import path."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType


def load(path: Path) -> ModuleType:
    """The module of the file at ``path``, under the file's stem as name (loaded once)."""
    name = path.stem
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look a class's module up by name
    spec.loader.exec_module(module)
    return module
