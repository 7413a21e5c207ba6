"""Private files under VAR_DIR: the folder (0700 when we make it), the secret key generated when SECRET_KEY is unset
and the SQLite database file (both 0600), each created with its final mode, so no other user ever can read them."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

FOLDER_MODE = 0o700
FILE_MODE = 0o600


def private_folder(path: Path) -> Path:
    """Makes the folder (and its missing parents) when it is missing, the folder itself readable by its owner only; an
    existing folder keeps its mode (the operator chose it)."""
    path = Path(path)
    if not path.is_dir():
        path.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    return path


def private_file(path: Path) -> Path:
    """Creates the file empty with mode 0600 when it is missing (O_EXCL: never a window with the umask's mode; another
    process that created it first wins); an existing file is left as it is."""
    path = Path(path)
    private_folder(path.parent)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except FileExistsError:
        pass
    return path


def generated_secret_key(var_dir: Path) -> str:
    """The key generated once for this VAR_DIR and kept in it (0600 from the start). Made when first needed, never
    when the settings are imported; written whole to a private temporary file, then linked into place, so that a
    process that reads it never sees it half written and two processes that make it at once agree on one key."""
    path = Path(var_dir) / "secret_key"
    if not path.exists():
        private_folder(path.parent)
        temporary = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        try:
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_urlsafe(50))
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass  # another process made it first: use its key
        finally:
            temporary.unlink(missing_ok=True)
    return path.read_text().strip()
