"""App configuration for explorer: at start-up (never on import of the settings) the local state directory is
made, VAR_DIR (readable by its owner only: config.var_dir) and its static folder."""

from django.apps import AppConfig


class ExplorerConfig(AppConfig):
    name = "explorer"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings

        from config.var_dir import private_folder

        private_folder(settings.VAR_DIR)
        settings.STATIC_ROOT.mkdir(parents=True, exist_ok=True)
