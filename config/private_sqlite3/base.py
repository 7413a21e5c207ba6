"""Django's SQLite backend, except that a database file that does not exist yet is created 0600 (its folder 0700)
before SQLite opens it: SQLite would create it with the umask's mode (usually 0644) and gives its -wal and -shm files
the database file's mode. Done at the first connection, so importing the settings writes no file."""

from __future__ import annotations

from pathlib import Path

from django.db.backends.sqlite3 import base

from config.var_dir import private_file


def _on_disk(name) -> bool:
    """Whether the database NAME is a file path (not an in-memory database or a URI)."""
    text = str(name)
    return bool(text) and text != ":memory:" and not text.startswith("file:")


class DatabaseWrapper(base.DatabaseWrapper):
    def get_new_connection(self, conn_params):
        if _on_disk(conn_params.get("database", "")):
            private_file(Path(conn_params["database"]))
        return super().get_new_connection(conn_params)
