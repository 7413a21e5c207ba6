"""Serializer fields of the JSON interfaces that write a missing value as null, the one convention of /api/v1 and
/api/v2 (never "", "n/a" or an omitted key): rows store "no value" as an empty string."""

from rest_framework import serializers


class TextOrNull(serializers.CharField):
    """A read-only text that reads null when it is empty or missing."""

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        kwargs.setdefault("read_only", True)
        super().__init__(**kwargs)

    def to_representation(self, value):
        return super().to_representation(value) if value not in (None, "") else None
