"""Restores the top-level hivemind names that petals 2.2 imports and hivemind 1.1.12 no longer re-exports, and
bounds how deeply hivemind decodes nested msgpack ext types.

Import this module before anything imports petals: `import swarm.compat  # noqa: F401`.
"""

import importlib
import threading

import hivemind
from hivemind.utils import MSGPackSerializer

from swarm.hivemind_logging import share_root_handler

# name -> module that still defines it in hivemind 1.1.12
_MOVED_NAMES = {
    "P2P": "hivemind.p2p",
    "P2PContext": "hivemind.p2p",
    "PeerID": "hivemind.p2p",
    "MAX_DHT_TIME_DISCREPANCY_SECONDS": "hivemind.utils",
    "MSGPackSerializer": "hivemind.utils",
    "TensorDescriptor": "hivemind.utils",
    "TimedStorage": "hivemind.utils",
    "get_dht_time": "hivemind.utils",
    "get_logger": "hivemind.utils",
    "nested_flatten": "hivemind.utils",
    "nested_pack": "hivemind.utils",
    "anext": "hivemind.utils.asyncio",
    "nested_compare": "hivemind.utils.nested",
    "BatchTensorDescriptor": "hivemind.utils.tensor_descr",
    "deserialize_tensor_stream": "hivemind.compression",
    "deserialize_torch_tensor": "hivemind.compression",
    "serialize_torch_tensor": "hivemind.compression",
}


def restore_hivemind_names() -> None:
    for name, module_name in _MOVED_NAMES.items():
        if not hasattr(hivemind, name):
            setattr(hivemind, name, getattr(importlib.import_module(module_name), name))


# hivemind decodes an ext type (a tuple, a DHT dictionary) by calling msgpack once more per level, each call with a
# large C stack frame: a value of a few kilobytes nested 500 levels deep overflows the stack and kills the process
# that reads it (measured here). Real records nest three or four levels.
MAX_EXT_NESTING = 32


class ExtNestingTooDeep(ValueError):
    pass


def guard_ext_nesting() -> None:
    """Makes MSGPackSerializer refuse ext types nested deeper than MAX_EXT_NESTING (a ValueError, per thread)."""
    decode = MSGPackSerializer._decode_ext_types
    if getattr(decode, "guarded", False):
        return
    unguarded = decode.__func__
    levels = threading.local()

    def decode_ext_types(cls, type_code: int, data: bytes):
        level = getattr(levels, "depth", 0)
        if level >= MAX_EXT_NESTING:
            raise ExtNestingTooDeep(f"msgpack ext types nested deeper than {MAX_EXT_NESTING} levels")
        levels.depth = level + 1
        try:
            return unguarded(cls, type_code, data)
        finally:
            levels.depth = level

    decode_ext_types.guarded = True
    MSGPackSerializer._decode_ext_types = classmethod(decode_ext_types)


restore_hivemind_names()
guard_ext_nesting()
share_root_handler()  # one handler for hivemind's, petals' and our log lines (swarm.hivemind_logging)
