"""Tiny configurations and deterministic random weights for the unit tests."""

import copy
import json

import torch

from . import _TRAINING  # noqa: F401  (puts training/ on sys.path)
import make_golden  # noqa: E402
from mnemo_ref import MnemoForCausalLM, parse_config  # noqa: E402

GOLDEN_CONFIGS = make_golden.CONFIGS


def tiny_config(name: str, **overrides):
    raw = copy.deepcopy(GOLDEN_CONFIGS[name])
    attn_over = overrides.pop("attn", None)
    raw.update(overrides)
    if attn_over:
        raw["attn"].update(attn_over)
    return parse_config(raw)


def tiny_model(name: str, seed: int = 0, dtype=torch.float64, **overrides) -> MnemoForCausalLM:
    cfg = tiny_config(name, **overrides)
    torch.manual_seed(seed)
    m = MnemoForCausalLM(cfg).to(dtype).eval()
    gen = torch.Generator().manual_seed(seed)
    make_golden.init_weights(m, gen)
    for li in cfg.lte_layers:     # about half the scores positive
        with torch.no_grad():
            m.model.layers[li].attn.router.conv_stack.proj.bias.zero_()
    return m


def random_ids(T: int, seed: int = 1, vocab: int = 256) -> torch.Tensor:
    return torch.randint(0, vocab, (1, T), generator=torch.Generator().manual_seed(seed))


def run_cached(model, ids, chunk: int, mode="fast", lte_method="batched"):
    cache = model.init_cache()
    outs = [model.forward_cached(ids[:, i:i + chunk], cache, mode=mode, lte_method=lte_method)["logits"]
            for i in range(0, ids.shape[1], chunk)]
    return torch.cat(outs, dim=1), cache


def max_diff(a, b) -> float:
    return (a.double() - b.double()).abs().max().item()


def dumps(x) -> str:
    return json.dumps(x, indent=1)
