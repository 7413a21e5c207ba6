"""Settings from the environment: sensible values parse, nonsense fails loudly with the variable's name."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_float, env_list, env_models


def test_values_parse(monkeypatch):
    monkeypatch.setenv("X_BOOL", "yes")
    monkeypatch.setenv("X_FLOAT", "2.5")
    monkeypatch.setenv("X_LIST", "/ip4/1.2.3.4/tcp/1/p2p/A, /ip4/5.6.7.8/tcp/2/p2p/B")
    monkeypatch.setenv("X_MODELS", "Llama-2-70b-hf:80 bloom:70")
    assert env_bool("X_BOOL") is True and env_float("X_FLOAT", 1.0) == 2.5
    assert env_list("X_LIST") == ["/ip4/1.2.3.4/tcp/1/p2p/A", "/ip4/5.6.7.8/tcp/2/p2p/B"]
    assert env_models("X_MODELS") == {"Llama-2-70b-hf": 80, "bloom": 70}
    assert env_list("X_UNSET") is None and env_models("X_UNSET") == {}


@pytest.mark.parametrize("name, value, call", [
    ("X_BOOL", "maybe", lambda: env_bool("X_BOOL")),
    ("X_FLOAT", "soon", lambda: env_float("X_FLOAT", 1.0)),
    ("X_FLOAT", "nan", lambda: env_float("X_FLOAT", 1.0, minimum=1.0)),
    ("X_FLOAT", "0.1", lambda: env_float("X_FLOAT", 1.0, minimum=1.0)),
    ("X_MODELS", "llama", lambda: env_models("X_MODELS")),
    ("X_MODELS", "llama:0", lambda: env_models("X_MODELS")),
])
def test_nonsense_fails_loudly(monkeypatch, name, value, call):
    monkeypatch.setenv(name, value)
    with pytest.raises(ImproperlyConfigured, match=name):
        call()
