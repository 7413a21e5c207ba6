"""Creates tiny random-weight checkpoints that Petals servers can load on CPU (no model hub needed)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class TinyModelSpec:
    name: str
    family: str  # "llama" or "falcon"
    num_blocks: int
    hidden_size: int = 64
    vocab_size: int = 1024
    seed: int = 0  # the random weights; another seed gives a model of the same shape that computes other numbers


TINY_LLAMA = TinyModelSpec(name="tiny-llama", family="llama", num_blocks=6)
TINY_FALCON = TinyModelSpec(name="tiny-falcon", family="falcon", num_blocks=4)
# TINY_LLAMA's shape with other block weights: a server loading it announces tiny-llama's blocks and answers wrongly
CORRUPTED_TINY_LLAMA = TinyModelSpec(name="tiny-llama-corrupted", family="llama", num_blocks=6, seed=1)


def _make_config(spec: TinyModelSpec):
    if spec.family == "llama":
        from transformers import LlamaConfig

        return LlamaConfig(
            hidden_size=spec.hidden_size,
            intermediate_size=spec.hidden_size * 2,
            num_hidden_layers=spec.num_blocks,
            num_attention_heads=4,
            num_key_value_heads=4,
            vocab_size=spec.vocab_size,
            max_position_embeddings=512,
        )
    if spec.family == "falcon":
        from transformers import FalconConfig

        return FalconConfig(
            hidden_size=spec.hidden_size,
            num_hidden_layers=spec.num_blocks,
            num_attention_heads=4,
            num_kv_heads=2,
            new_decoder_architecture=True,
            parallel_attn=True,
            bias=False,
            vocab_size=spec.vocab_size,
        )
    raise ValueError(f"unknown tiny model family {spec.family!r} (expected 'llama' or 'falcon')")


def ensure_tiny_model(spec: TinyModelSpec, root: Path) -> Path:
    """Writes the checkpoint under root/spec.name unless a complete one is already there; returns its path."""
    path = root / spec.name
    marker = path / "swarm_explorer_tiny_model.json"
    if marker.exists():
        return path

    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(spec.seed)
    model = AutoModelForCausalLM.from_config(_make_config(spec), torch_dtype=torch.float32)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path, safe_serialization=True)
    marker.write_text(json.dumps({"name": spec.name, "family": spec.family, "num_blocks": spec.num_blocks}))
    return path
