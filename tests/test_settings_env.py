"""Settings from the environment: sensible values parse, nonsense fails loudly with the variable's name (rates
included, at start-up rather than at the first request that hits them); importing the settings writes nothing; one
Redis URL sets every Redis setting."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_float, env_list, env_models, env_rate
from config.redis_settings import redis_settings

ROOT = Path(__file__).resolve().parents[1]


def test_values_parse(monkeypatch):
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_FLOAT", "2.5")
    monkeypatch.setenv("X_LIST", "/ip4/1.2.3.4/tcp/1/p2p/A, /ip4/5.6.7.8/tcp/2/p2p/B")
    monkeypatch.setenv("X_MODELS", "Llama-2-70b-hf:80 bloom:70")
    assert env_bool("X_BOOL") is True and env_float("X_FLOAT", 1.0) == 2.5
    assert env_list("X_LIST") == ["/ip4/1.2.3.4/tcp/1/p2p/A", "/ip4/5.6.7.8/tcp/2/p2p/B"]
    assert env_models("X_MODELS") == {"Llama-2-70b-hf": 80, "bloom": 70}
    assert env_list("X_UNSET") is None and env_models("X_UNSET") == {}
    for rate in ("10/m", "100/h", "5/10m", "1/s", "3/d"):
        monkeypatch.setenv("X_RATE", rate)
        assert env_rate("X_RATE", "2/m") == rate
    assert env_rate("X_UNSET", "2/m") == "2/m"


@pytest.mark.parametrize("name, value, call", [
    ("X_BOOL", "maybe", lambda: env_bool("X_BOOL")),
    ("X_FLOAT", "soon", lambda: env_float("X_FLOAT", 1.0)),
    ("X_FLOAT", "nan", lambda: env_float("X_FLOAT", 1.0, minimum=1.0)),
    ("X_FLOAT", "0.1", lambda: env_float("X_FLOAT", 1.0, minimum=1.0)),
    ("X_MODELS", "llama", lambda: env_models("X_MODELS")),
    ("X_MODELS", "llama:0", lambda: env_models("X_MODELS")),
    ("X_RATE", "ten a minute", lambda: env_rate("X_RATE", "2/m")),
    ("X_RATE", "10", lambda: env_rate("X_RATE", "2/m")),
    ("X_RATE", "0/m", lambda: env_rate("X_RATE", "2/m")),
    ("X_RATE", "10/w", lambda: env_rate("X_RATE", "2/m")),
])
def test_nonsense_fails_loudly(monkeypatch, name, value, call):
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=name):
        call()


def settings_process(tmp_path, code: str, **env) -> subprocess.CompletedProcess:
    child_env = {key: value for key, value in os.environ.items() if key not in ("SECRET_KEY", "DATABASE_URL")}
    child_env.update(VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="config.settings", **env)
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=child_env, capture_output=True, text=True,
                          timeout=120)


def test_a_bad_rate_stops_the_start_with_its_name(tmp_path):
    result = settings_process(tmp_path, "import django; django.setup()", IS_REACHABLE_RATE="lots")
    assert result.returncode != 0 and "IS_REACHABLE_RATE='lots'" in result.stderr


def test_importing_the_settings_writes_no_file_and_the_key_is_made_when_first_needed(tmp_path):
    var = tmp_path / "var"
    result = settings_process(tmp_path, "import config.settings as s; print(bool(s.VAR_DIR))")
    assert result.returncode == 0, result.stderr
    assert not var.exists()  # no folder, no key, no static folder
    result = settings_process(tmp_path, "import django; django.setup(); from django.conf import settings; "
                                        "print(len(str(settings.SECRET_KEY)))")
    assert result.returncode == 0, result.stderr
    key = (var / "secret_key").read_text().strip()
    assert int(result.stdout.strip()) == len(key) >= 50 and (var / "static").is_dir()
    again = settings_process(tmp_path, "import django; django.setup(); from django.conf import settings; "
                                       "print(settings.SECRET_KEY)")
    assert again.stdout.strip() == key  # kept: every process of one installation signs alike


def test_one_redis_url_points_every_redis_setting_at_it():
    named = redis_settings("redis://example:6390/2")
    assert named["REDIS_URL"] == named["CELERY_BROKER_URL"] == named["CACHES"]["default"]["LOCATION"] == \
        "redis://example:6390/2"
    assert [host["address"] for host in named["CHANNEL_LAYERS"]["default"]["CONFIG"]["hosts"]] == \
        ["redis://example:6390/2"]


def test_the_running_settings_all_name_the_one_redis(settings):
    assert settings.CELERY_BROKER_URL == settings.CACHES["default"]["LOCATION"] == settings.REDIS_URL
    assert settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"][0]["address"] == settings.REDIS_URL
