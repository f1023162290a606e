"""Where compiled Hyperscan databases are cached, and the small file helpers of the cache
(private; see :mod:`._engine`)."""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Any, Dict, Optional


def cache_dir() -> Optional[Path]:
    """Where compiled Hyperscan databases are cached (``None``: caching off).

    ``CYLESTIO_CACHE_DIR`` overrides it (empty, ``0`` or ``off`` turns caching off); else the
    user cache directory: ``$XDG_CACHE_HOME/cylestio-monitor`` (``~/.cache/...``),
    ``~/Library/Caches/cylestio-monitor`` on macOS, ``%LOCALAPPDATA%\\cylestio-monitor`` on Windows.
    """
    env = os.environ.get("CYLESTIO_CACHE_DIR")
    if env is not None:
        env = env.strip()
        return Path(env).expanduser() if env and env.lower() not in ("0", "off", "false", "no", "none") else None
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = home / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache")
    return base / "cylestio-monitor"


def _read_json(path: Path) -> Dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_json(path: Path, data: Dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass


def _cpu_signature() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return f"{platform.machine()}|{platform.processor()}"
