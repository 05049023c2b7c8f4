"""Mnemo's PyTorch reference of the hybrid linear / sparse-attention models (see ../SEMANTICS.md)."""

from .config import LayerSpec, ModelConfig, load_config, parse_config
from .model import MnemoForCausalLM
from .safetensors_io import load_file, load_file_with_metadata, save_file

SEMANTICS_VERSION = 1

__all__ = ["LayerSpec", "ModelConfig", "load_config", "parse_config", "MnemoForCausalLM",
           "load_file", "load_file_with_metadata", "save_file", "SEMANTICS_VERSION"]
