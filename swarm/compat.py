"""Restores the top-level hivemind names that petals 2.2 imports and hivemind 1.1.12 no longer re-exports.

Import this module before anything imports petals: `import swarm.compat  # noqa: F401`.
"""

import importlib

import hivemind

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


restore_hivemind_names()

