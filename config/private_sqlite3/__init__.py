"""Django's SQLite backend with the database file made private before SQLite first opens it (config.var_dir)."""
