"""The secret key generated for a VAR_DIR when SECRET_KEY is unset: made when first needed (never when the settings
are imported) and kept in the folder, so that every process of one installation signs alike. The folder itself is
made at start-up (explorer.apps)."""

from __future__ import annotations

import secrets
from pathlib import Path


def generated_secret_key(var_dir: Path) -> str:
    """The key generated once for this VAR_DIR and kept in it (readable by its owner only)."""
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()
