"""The local state directory (VAR_DIR: the SQLite database, the generated secret key, the static folder): made
when a process starts (explorer's AppConfig.ready) or first needs the key, never when the settings are imported."""

from __future__ import annotations

import secrets
from pathlib import Path


def prepare(var_dir: Path, static_root: Path) -> None:
    var_dir.mkdir(parents=True, exist_ok=True)
    static_root.mkdir(parents=True, exist_ok=True)


def generated_secret_key(var_dir: Path) -> str:
    """The key generated once for this VAR_DIR and kept in it (readable by its owner only)."""
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()
