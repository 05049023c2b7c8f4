"""The hybrid model: embeddings -> [pre-norm block x L] -> RMSNorm -> LM head.

Module names reproduce the reference checkpoints' parameter names:
  model.embeddings.weight, model.layers.N.{attn_norm,attn,mlp_norm,mlp}.*, model.norm.weight,
  lm_head.weight (absent from the file when tied), and for laLTE models the buffers
  model.l1_lambda / model.num_kept.
"""

from __future__ import annotations

import json
import os
from typing import Dict, List, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from .attention import Attention
from .config import LayerSpec, ModelConfig, load_config, parse_config
from .gdn import GatedDeltaNet
from .lte import LTEAttention, LTEConvolutionStack
from .modules import GatedMLP, RMSNorm
from .nsa import NativeSparseAttention
from .safetensors_io import load_file, save_file


def build_mixer(spec: LayerSpec, shared_stack=None) -> nn.Module:
    p = spec.params
    if spec.kind == "gdn":
        return GatedDeltaNet(**p)
    if spec.kind in ("attn", "swa"):
        return Attention(**p)
    if spec.kind == "lte":
        return LTEAttention(shared_stack=shared_stack, **p)
    if spec.kind == "nsa":
        return NativeSparseAttention(**p)
    raise ValueError(spec.kind)


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig, spec: LayerSpec, shared_stack=None):
        super().__init__()
        self.kind = spec.kind
        self.attn_norm = RMSNorm(cfg.hidden_size, eps=cfg.norm_eps)
        self.attn = build_mixer(spec, shared_stack)
        self.mlp_norm = RMSNorm(cfg.hidden_size, eps=cfg.norm_eps)
        self.mlp = GatedMLP(cfg.hidden_size, cfg.intermediate_size)

    def forward(self, x, state=None, mode="pure", lte_mode="cache", lte_method="batched",
                lte_prefill="mnemo"):
        h = self.attn_norm(x)
        aux = None
        if self.kind == "lte":
            if state is None:
                o, aux = self.attn.forward_parallel(h, lte_mode=lte_mode, mode=mode)
                new_state = None
            else:
                o, new_state = self.attn(h, state, mode=mode, method=lte_method, prefill=lte_prefill)
        else:
            o, new_state = self.attn(h, state, mode=mode)
        x = x + o
        x = x + self.mlp(self.mlp_norm(x))
        return x, new_state, aux


class MnemoModel(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        # padding_idx only zeroes that row's gradient (as the reference's nn.Embedding)
        self.embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden_size, cfg.raw.get("pad_token_id"))
        shared = None
        lte_specs = [s for s in cfg.layers if s.kind == "lte"]
        if lte_specs and lte_specs[0].params["routing_shared"] == "all":
            p = lte_specs[0].params
            shared = LTEConvolutionStack(2 * p["head_dim"], p["kernel_sizes"], p["kernel_dilations"],
                                         dropout_prob=p["dropout_prob"])
        self.layers = nn.ModuleList([Block(cfg, s, shared) for s in cfg.layers])
        self.norm = RMSNorm(cfg.hidden_size, eps=cfg.norm_eps)
        if lte_specs and cfg.model_type == "hybrid_gated_deltanet":
            a = cfg.raw["attn"]
            n, hk = len(lte_specs), lte_specs[0].params["num_kv_heads"]
            shared_l = a.get("l1_lambda_shared", "head")
            lam = {"all": torch.zeros(()), "layer": torch.zeros(n), "head": torch.zeros(n, hk)}[shared_l]
            self.register_buffer("l1_lambda", lam)
            self.register_buffer("num_kept", torch.zeros(n, hk))


class MnemoForCausalLM(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.model = MnemoModel(cfg)
        self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
        if cfg.tie_word_embeddings:
            self.lm_head.weight = self.model.embeddings.weight

    # -------------------------------------------------------------- parallel (training) form
    def forward(self, input_ids: torch.Tensor, labels: Optional[torch.Tensor] = None,
                mode: str = "fast", lte_mode: str = "train", output_hidden_states: bool = False):
        """input_ids: [B, T]. mode: 'pure' | 'fast'. lte_mode: 'train' | 'cache' | 'paper_eval'.
        labels: next-token targets are labels shifted left by one (as the reference)."""
        x = self.model.embeddings(input_ids)
        hidden, lte = [], {}
        for i, layer in enumerate(self.model.layers):
            x, _, aux = layer(x, None, mode=mode, lte_mode=lte_mode)
            if aux is not None:
                lte[i] = aux
            if output_hidden_states:
                hidden.append(x)
        xn = self.model.norm(x)
        logits = self.lm_head(xn)
        out = {"logits": logits, "lte": lte}
        if output_hidden_states:
            out["hidden_states"] = hidden
            out["final_norm"] = xn
        if labels is not None:
            tgt = torch.cat([labels[:, 1:], torch.full_like(labels[:, :1], -100)], dim=1)
            out["loss"] = F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(),
                                          tgt.reshape(-1), ignore_index=-100)
        return out

    # -------------------------------------------------------------- cache (inference) form
    def init_cache(self, batch_size: int = 1, dtype=None, device=None) -> List:
        p = next(self.parameters())
        dtype = dtype or p.dtype
        device = device or p.device
        return [layer.attn.init_state(batch_size, dtype, device) for layer in self.model.layers]

    @torch.no_grad()
    def forward_cached(self, input_ids: torch.Tensor, cache: List, mode: str = "pure",
                       lte_method: str = "batched", output_hidden_states: bool = False,
                       lte_prefill: str = "mnemo"):
        """Feeds a chunk [B, n] continuing from `cache` (updated in place). Chunk-size invariant.
        lte_prefill='paper' reproduces the reference's prefill outputs for the first chunk."""
        x = self.model.embeddings(input_ids)
        hidden = []
        for i, layer in enumerate(self.model.layers):
            x, cache[i], _ = layer(x, cache[i], mode=mode, lte_method=lte_method, lte_prefill=lte_prefill)
            if output_hidden_states:
                hidden.append(x)
        xn = self.model.norm(x)
        out = {"logits": self.lm_head(xn)}
        if output_hidden_states:
            out["hidden_states"] = hidden
            out["final_norm"] = xn
        return out

    # -------------------------------------------------------------- checkpoints
    def paper_state_dict(self) -> Dict[str, torch.Tensor]:
        """state_dict as the reference saves it (tied lm_head.weight omitted)."""
        sd = {k: v for k, v in self.state_dict().items()}
        if self.cfg.tie_word_embeddings:
            sd.pop("lm_head.weight", None)
        return sd

    def load_paper_state_dict(self, sd: Dict[str, torch.Tensor], strict: bool = True) -> None:
        sd = dict(sd)
        if self.cfg.tie_word_embeddings:
            sd.pop("lm_head.weight", None)
            sd["lm_head.weight"] = sd["model.embeddings.weight"]
        own = self.state_dict()
        sd = {k: v.to(own[k].dtype) if k in own else v for k, v in sd.items()}
        missing, unexpected = self.load_state_dict(sd, strict=False)
        if strict and (missing or unexpected):
            raise KeyError(f"checkpoint mismatch: missing {missing}, unexpected {unexpected}")

    def save_pretrained(self, path: str, dtype=torch.float32) -> None:
        os.makedirs(path, exist_ok=True)
        with open(os.path.join(path, "config.json"), "w") as f:
            json.dump(self.cfg.raw, f, indent=2)
            f.write("\n")
        sd = {k: v.detach().to(dtype) for k, v in self.paper_state_dict().items()}
        save_file(sd, os.path.join(path, "model.safetensors"), metadata={"format": "pt"})

    @classmethod
    def from_pretrained(cls, path: str, dtype=torch.float32) -> "MnemoForCausalLM":
        cfg = load_config(os.path.join(path, "config.json"))
        m = cls(cfg)
        m.load_paper_state_dict(load_file(os.path.join(path, "model.safetensors")))
        return m.to(dtype)
