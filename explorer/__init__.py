"""The Django app: stores crawl history and serves it (pages, API, live updates, tasks, commands)."""
