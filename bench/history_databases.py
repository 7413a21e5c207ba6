"""How much of the history benchmark's database is in use, whole and per table, measured inside its worker process
(the scratch databases themselves come from bench.services)."""

from __future__ import annotations

import os


# Inside a worker (Django set up) -------------------------------------------------------------------------------------
def settle() -> None:
    """Makes the on-disk figures mean live data: PostgreSQL VACUUM (dead tuples become free space; the files do
    not shrink), SQLite WAL checkpoint (the log folded into the file)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM")
        else:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")


def vacuum_table(table: str) -> None:
    """PostgreSQL only: VACUUM one table (what autovacuum does for a table whose rows are rewritten)."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f'VACUUM "{table}"')


def database_bytes() -> int:
    """PostgreSQL: pg_database_size (files on disk, free space inside them included). SQLite: pages in use
    ((page_count - freelist_count) * page_size), so pages freed by deletes and rewrites do not count."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_database_size(current_database())")
            return int(cursor.fetchone()[0])
        values = []
        for pragma in ("page_count", "freelist_count", "page_size"):
            cursor.execute(f"PRAGMA {pragma}")
            values.append(int(cursor.fetchone()[0]))
        return (values[0] - values[1]) * values[2]


def file_bytes() -> int:
    """SQLite only: the database file's size on disk (after a checkpoint), free pages included."""
    from django.db import connection

    return os.path.getsize(connection.settings_dict["NAME"])


def table_bytes() -> dict[str, int]:
    """Bytes per explorer table, its indexes (and PostgreSQL TOAST) included."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT relname, pg_total_relation_size(oid) FROM pg_class "
                           "WHERE relkind = 'r' AND relname LIKE 'explorer\\_%'")
        else:
            cursor.execute("SELECT m.tbl_name, SUM(s.pgsize) FROM dbstat s JOIN sqlite_master m ON s.name = m.name "
                           "WHERE m.tbl_name LIKE 'explorer\\_%' ESCAPE '\\' GROUP BY m.tbl_name")
        return {name: int(size) for name, size in cursor.fetchall()}


def table_rows() -> dict[str, int]:
    from django.apps import apps

    return {model._meta.db_table: model.objects.count() for model in apps.get_app_config("explorer").get_models()}
