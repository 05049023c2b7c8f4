"""Reads the paper's config.json schema into one per-layer description.

Supported `model_type`s (same defaults as the reference implementation's config classes):
  * `hybrid_gated_deltanet`: GDN everywhere except `attn.layers`, whose mixer is chosen by
    `attn.attn_type`: "lte" -> lte, "nsa" -> nsa, anything else (absent, None, "attn") ->
    softmax attention (`swa` when `attn.window_size` is set, else `attn`).
  * `gated_deltanet`: GDN everywhere except `attn.layers` (if `attn` is given), which are always
    softmax attention (`attn_type` is ignored, as in the reference).
  * `transformer`: softmax attention in every layer (`swa` when `window_size` is set).
  * `nsa`: native sparse attention in every layer. The reference's NSA block does not pass
    `head_dim` to its layer, so the layer always uses head_dim 64; we do the same.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

MIXER_KINDS = ("gdn", "swa", "attn", "lte", "nsa")

# Defaults of the reference config classes, per model_type.
_GDN_MODEL_DEFAULTS = dict(
    attn_mode="chunk", hidden_size=2048, expand_v=2, use_gate=True, use_short_conv=True,
    allow_neg_eigval=False, conv_size=4, head_dim=256, num_heads=6, num_v_heads=None,
    max_position_embeddings=2048, hidden_ratio=4, intermediate_size=None, hidden_act="swish",
    num_hidden_layers=21, norm_eps=1e-6, attn=None, tie_word_embeddings=False, vocab_size=32000,
    fuse_norm=True,
)
_TRANSFORMER_DEFAULTS = dict(
    hidden_size=2048, num_hidden_layers=24, num_heads=32, num_kv_heads=None, qkv_bias=False,
    qk_norm=False, window_size=None, rope_theta=10000.0, max_position_embeddings=2048,
    hidden_ratio=4, intermediate_size=None, hidden_act="swish", norm_eps=1e-6,
    tie_word_embeddings=False, vocab_size=32000, fuse_norm=True,
)
_NSA_DEFAULTS = dict(
    hidden_size=2048, num_hidden_layers=24, num_heads=64, num_kv_heads=4, head_dim=32,
    qkv_bias=False, block_size=64, block_counts=16, window_size=512, rope_theta=10000.0,
    max_position_embeddings=2048, hidden_ratio=4, intermediate_size=None, hidden_act="swish",
    norm_eps=1e-6, tie_word_embeddings=False, vocab_size=32000, fuse_norm=True,
)
# Defaults of the reference LTE layer's constructor, used when a key is absent (the reference
# itself would raise KeyError for most of them).
_LTE_DEFAULTS = dict(
    conv_size=[3, 3, 3], conv_dilation=[1, 1, 1], dropout_prob=0.0, buffer_size=512, sink_size=4,
    routing_method="relu", routing_grad=True, routing_shared="head",
    l1_lambda_shared="head",
)
NSA_LAYER_HEAD_DIM = 64  # the reference NSA model's layer default (config head_dim is ignored)


@dataclass
class LayerSpec:
    index: int
    kind: str                      # one of MIXER_KINDS
    params: Dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelConfig:
    model_type: str
    hidden_size: int
    vocab_size: int
    num_hidden_layers: int
    norm_eps: float
    intermediate_size: int
    tie_word_embeddings: bool
    layers: List[LayerSpec]
    raw: Dict[str, Any]

    @property
    def lte_layers(self) -> List[int]:
        return [s.index for s in self.layers if s.kind == "lte"]

    def to_json(self) -> str:
        return json.dumps(self.raw, indent=2, sort_keys=False)


def mlp_intermediate_size(hidden_size: int, hidden_ratio: Optional[int],
                          intermediate_size: Optional[int]) -> int:
    """The reference GatedMLP rule: 2/3 * hidden * ratio rounded up to a multiple of 256."""
    if intermediate_size is not None:
        return int(intermediate_size)
    if hidden_ratio is None:
        hidden_ratio = 4
    size = int(hidden_size * hidden_ratio * 2 / 3)
    return 256 * ((size + 256 - 1) // 256)


def lte_receptive_margins(kernel_sizes: List[int], dilations: List[int]):
    """(left, right) context of the LTE router CNN; 'same' padding puts the extra pad on the right."""
    left = right = 0
    for k, d in zip(kernel_sizes, dilations):
        total = d * (k - 1)
        left += total // 2
        right += total - total // 2
    return left, right


def _with_defaults(raw: Dict[str, Any], defaults: Dict[str, Any]) -> Dict[str, Any]:
    c = dict(defaults)
    c.update({k: v for k, v in raw.items()})
    return c


def _gdn_params(c: Dict[str, Any], hybrid: bool) -> Dict[str, Any]:
    return dict(
        hidden_size=c["hidden_size"],
        head_dim=int(c["head_dim"]),
        num_heads=int(c["num_heads"]),
        num_v_heads=None if hybrid else c.get("num_v_heads"),
        expand_v=c["expand_v"],
        use_gate=bool(c["use_gate"]),
        use_short_conv=bool(c["use_short_conv"]),
        conv_size=int(c["conv_size"]),
        allow_neg_eigval=False if hybrid else bool(c.get("allow_neg_eigval", False)),
        norm_eps=float(c["norm_eps"]),
    )


def _attn_params(hidden: int, a: Dict[str, Any], qk_norm: bool = False) -> Dict[str, Any]:
    num_heads = int(a["num_heads"])
    num_kv = a.get("num_kv_heads")
    num_kv = num_heads if num_kv is None else int(num_kv)
    return dict(
        hidden_size=hidden, num_heads=num_heads, num_kv_heads=num_kv,
        head_dim=hidden // num_heads, qkv_bias=bool(a.get("qkv_bias", False)),
        window_size=a.get("window_size"), rope_theta=float(a.get("rope_theta", 10000.0)),
        qk_norm=qk_norm,
    )


def _lte_params(hidden: int, a: Dict[str, Any]) -> Dict[str, Any]:
    p = _attn_params(hidden, a)
    full = _with_defaults(a, _LTE_DEFAULTS)
    if p["window_size"] is None:
        raise ValueError("lte layers need attn.window_size")
    ks = [int(x) for x in full["conv_size"]]
    ds = [int(x) for x in full["conv_dilation"]]
    if len(ks) != len(ds):
        raise ValueError("attn.conv_size and attn.conv_dilation must have the same length")
    p.update(
        kernel_sizes=ks, kernel_dilations=ds, dropout_prob=float(full["dropout_prob"]),
        buffer_size=int(full["buffer_size"]), sink_size=int(full["sink_size"]),
        routing_method=str(full["routing_method"]), routing_grad=bool(full["routing_grad"]),
        routing_shared=str(full["routing_shared"]),
    )
    if p["routing_method"] not in ("sigmoid", "relu"):
        raise ValueError(f"unsupported attn.routing_method {p['routing_method']!r}")
    if p["routing_shared"] not in ("head", "layer", "all"):
        raise ValueError(f"unsupported attn.routing_shared {p['routing_shared']!r}")
    return p


def _nsa_params(hidden: int, a: Dict[str, Any], head_dim: int) -> Dict[str, Any]:
    num_heads = int(a["num_heads"])
    num_kv = a.get("num_kv_heads")
    num_kv = num_heads if num_kv is None else int(num_kv)
    block_counts = a.get("block_counts", 16)
    if not isinstance(block_counts, int):
        raise ValueError("only an integer block_counts is supported in config.json")
    return dict(
        hidden_size=hidden, num_heads=num_heads, num_kv_heads=num_kv, head_dim=int(head_dim),
        qkv_bias=bool(a.get("qkv_bias", False)), block_size=int(a.get("block_size", 64)),
        block_counts=int(block_counts), window_size=a.get("window_size"),
        rope_theta=float(a.get("rope_theta", 10000.0)),
    )


def parse_config(raw_in: Dict[str, Any]) -> ModelConfig:
    raw = copy.deepcopy(raw_in)
    mt = raw.get("model_type")
    layers: List[LayerSpec] = []
    if mt in ("hybrid_gated_deltanet", "gated_deltanet"):
        c = _with_defaults(raw, _GDN_MODEL_DEFAULTS)
        hybrid = mt == "hybrid_gated_deltanet"
        attn = c.get("attn")
        if attn is not None:
            if not isinstance(attn, dict):
                raise ValueError("attn must be an object")
            if "layers" not in attn or "num_heads" not in attn:
                raise ValueError("attn needs 'layers' and 'num_heads'")
        hidden = int(c["hidden_size"])
        for i in range(int(c["num_hidden_layers"])):
            if attn is not None and i in attn["layers"]:
                attn_type = attn.get("attn_type", "attn") if hybrid else "attn"
                if attn_type == "lte":
                    layers.append(LayerSpec(i, "lte", _lte_params(hidden, attn)))
                elif attn_type == "nsa":
                    if "head_dim" not in attn:
                        raise ValueError("nsa layers need attn.head_dim")
                    layers.append(LayerSpec(i, "nsa", _nsa_params(hidden, attn, attn["head_dim"])))
                else:
                    p = _attn_params(hidden, attn)
                    layers.append(LayerSpec(i, "swa" if p["window_size"] is not None else "attn", p))
            else:
                layers.append(LayerSpec(i, "gdn", _gdn_params(c, hybrid)))
    elif mt == "transformer":
        c = _with_defaults(raw, _TRANSFORMER_DEFAULTS)
        hidden = int(c["hidden_size"])
        for i in range(int(c["num_hidden_layers"])):
            p = _attn_params(hidden, c, qk_norm=bool(c["qk_norm"]))
            layers.append(LayerSpec(i, "swa" if p["window_size"] is not None else "attn", p))
    elif mt == "nsa":
        c = _with_defaults(raw, _NSA_DEFAULTS)
        hidden = int(c["hidden_size"])
        for i in range(int(c["num_hidden_layers"])):
            layers.append(LayerSpec(i, "nsa", _nsa_params(hidden, c, NSA_LAYER_HEAD_DIM)))
    else:
        raise ValueError(f"unsupported model_type {mt!r}")
    if c.get("hidden_act", "swish") != "swish":
        raise ValueError(f"unsupported hidden_act {c.get('hidden_act')!r}")
    return ModelConfig(
        model_type=mt, hidden_size=int(c["hidden_size"]), vocab_size=int(c["vocab_size"]),
        num_hidden_layers=int(c["num_hidden_layers"]), norm_eps=float(c["norm_eps"]),
        intermediate_size=mlp_intermediate_size(int(c["hidden_size"]), c.get("hidden_ratio"),
                                                c.get("intermediate_size")),
        tie_word_embeddings=bool(c.get("tie_word_embeddings", False)),
        layers=layers, raw=raw,
    )


def load_config(path: str) -> ModelConfig:
    with open(path) as f:
        return parse_config(json.load(f))
