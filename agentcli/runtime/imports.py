"""Import a "module:function" reference from a spec, with the spec's folder importable."""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable
from typing import Any

_path_lock = threading.Lock()


def add_import_root(base_dir: str) -> None:
    """Put the spec's folder on sys.path once, so `python: tools:lookup` finds tools.py next to it."""
    with _path_lock:
        if base_dir not in sys.path:
            sys.path.insert(0, base_dir)


def import_ref(ref: str, base_dir: str) -> Callable[..., Any]:
    """The callable named by "module:function". Raises ImportError/AttributeError/TypeError with a
    short reason; callers wrap it in the error class that fits (ToolError, SpecError)."""
    module_name, _, attr = ref.partition(":")
    if not module_name or not attr:
        raise ImportError(f"{ref!r} is not shaped 'module:function'")
    add_import_root(base_dir)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and not (module_name == e.name or module_name.startswith(e.name + ".")):
            # the module was found, but something it imports is missing
            raise ImportError(f"importing {module_name} failed: no module named {e.name!r}") from None
        raise ImportError(f"no module named {e.name!r} (looked in {base_dir} and sys.path)") from None
    except KeyboardInterrupt:
        raise
    except SystemExit as e:  # sys.exit() at import must not end (or silently re-code) the whole run
        raise ImportError(f"importing {module_name} failed: it called sys.exit({e.code!r})") from None
    except BaseException as e:  # the module itself failed while importing (incl. its own ImportError)
        reason = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
        raise ImportError(f"importing {module_name} failed: {reason}") from None
    try:
        obj = getattr(module, attr)
    except AttributeError:
        raise AttributeError(f"module {module_name!r} has no {attr!r}") from None
    if not callable(obj):
        raise TypeError(f"{ref} is not callable")
    return obj
