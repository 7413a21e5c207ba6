"""App configuration for explorer: at start-up, the local state directory is made (config.var_dir)."""

from django.apps import AppConfig


class ExplorerConfig(AppConfig):
    name = "explorer"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings

        from config.var_dir import prepare

        prepare(settings.VAR_DIR, settings.STATIC_ROOT)
