#!/usr/bin/env python3
"""Mnemo's reference vs the paper's implementation, same random weights and inputs, per mixer kind.

Runs on a CUDA machine with Triton (the paper's kernels need it). The paper's code is read from
--paper (a checkout of idiap/hybrid-linear-sparse-attention, a bare git mirror of it, or a folder
holding its `fla/` package), extracted to a temporary folder and patched there only; nothing of
it is written into Mnemo. Missing third-party pieces get local stand-ins:
  * flash-attn (flash_attn_func, flash_attn_with_kvcache): masked softmax in PyTorch;
  * einops / transformers.utils.logging / packaging: minimal versions, only if not installed.
The paper's models are composed here from its layers (GatedDeltaNet, Attention, LTEAttention,
NativeSparseAttention), its RMSNorm and GatedMLP, in the block structure of its
HybridGatedDeltaNetBlock; this avoids its transformers-4.49-only model/Cache classes. The cache
is a stand-in with the same update rules as its fla.models.utils.Cache.

Compared, for each configuration (max |logit difference|):
  parallel   the paper without a cache (eval; LTE: its buffer-enforced eval) vs our parallel form
             (LTE: lte_mode='paper_eval');
  prefill    the paper's prefill of the first L tokens vs ours (LTE: lte_prefill='paper');
  decode     the paper's token-by-token decode after that prefill vs ours;
  mnemo      (LTE) the paper's decode vs Mnemo's own semantics (our prefill differs, see docs).
Ours is computed in float64 on the CPU (`ours64`), the paper in float32 on the GPU; `ours32`
(our reference in float32 on the GPU) gives the float32 floor.

    python3 training/parity_paper.py --paper training/.paper_ref [--configs lalte ...] [--json out.json]

By default the paper layers' float32 -> float16 casts are patched out (so both sides run in
float32) and TF32 is disabled (torch and Triton); --keep-fp16-cast / --tf32 restore them.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import types

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

PAPER_LAYER_FILES = ["fla/layers/lte.py", "fla/layers/gated_deltanet.py", "fla/layers/attn.py",
                     "fla/layers/nsa.py"]


# ----------------------------------------------------------------------------- paper code

def extract_paper(src: str, dst: str) -> None:
    if os.path.isdir(os.path.join(src, "fla")):
        shutil.copytree(os.path.join(src, "fla"), os.path.join(dst, "fla"))
        return
    if os.path.isfile(os.path.join(src, "HEAD")) or os.path.isdir(os.path.join(src, ".git")):
        gitdir = src if os.path.isfile(os.path.join(src, "HEAD")) else os.path.join(src, ".git")
        arch = subprocess.run(["git", f"--git-dir={gitdir}", "archive", "HEAD", "fla"],
                              check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", dst], input=arch, check=True)
        return
    raise SystemExit(f"--paper {src}: no fla/ folder and not a git repository")


def patch_fp16_casts(root: str) -> int:
    """The paper's layers cast float32 q/k/v to float16 before their kernels; switch that off."""
    n = 0
    for rel in PAPER_LAYER_FILES:
        p = os.path.join(root, rel)
        txt = open(p).read()
        new, k = re.subn(r"if q\.dtype == torch\.float32:", "if False:  # parity: stay in float32", txt)
        n += k
        with open(p, "w") as f:
            f.write(new)
    return n


def patch_for_this_stack(root: str, float32: bool) -> list:
    """Local compatibility patches to the temporary copy of the paper's code (never committed):
    - PyTorch 2.11 refuses the in-place overlapping slice copies of its LTE `rotate_recent`
      ("some elements ... refer to a single memory location"): the read side gets a .clone();
    - its chunked gated-delta-rule kernel refuses float32 inputs, so for the float32 comparison
      its GatedDeltaNet runs the fused-recurrent kernel (the same recurrence) at every length."""
    done = []
    p = os.path.join(root, "fla/ops/lte/cache.py")
    txt = open(p).read()
    new, k = re.subn(r"(cache_(?:k|v|score)\[:, next_recent_pos: ?window_size\])(\s*$)", r"\1.clone()\2", txt, flags=re.M)
    if k:
        open(p, "w").write(new)
        done.append(f"rotate_recent clones ({k})")
    if float32:
        p = os.path.join(root, "fla/layers/gated_deltanet.py")
        txt = open(p).read()
        new, k = re.subn(r"mode = 'fused_recurrent' if q_len <= 64 else self\.mode", "mode = 'fused_recurrent'  # parity: fp32", txt)
        if k:
            open(p, "w").write(new)
            done.append("gdn fused_recurrent in fp32")
    return done


def install_stand_ins() -> list:
    import torch
    installed = []

    def mask_attention(q, k, v, allowed, scale):
        # q [B, Tq, Hq, D], k/v [B, Tk, Hk, D], allowed [B or 1, Tq, Tk]
        G = q.shape[2] // k.shape[2]
        k = k.repeat_interleave(G, dim=2)
        v = v.repeat_interleave(G, dim=2)
        s = torch.einsum("bqhd,bkhd->bhqk", q.float(), k.float()) * scale
        s = s.masked_fill(~allowed[:, None], float("-inf"))
        p = torch.softmax(s, dim=-1).nan_to_num(0.0)
        return torch.einsum("bhqk,bkhd->bqhd", p, v.float()).to(q.dtype)

    def flash_attn_func(q, k, v, dropout_p=0.0, softmax_scale=None, causal=False,
                        window_size=(-1, -1), **_):
        Tq, Tk = q.shape[1], k.shape[1]
        scale = softmax_scale if softmax_scale is not None else q.shape[-1] ** -0.5
        qi = torch.arange(Tq, device=q.device)[:, None] + (Tk - Tq)   # bottom-right aligned
        kj = torch.arange(Tk, device=q.device)[None, :]
        allowed = torch.ones(Tq, Tk, dtype=torch.bool, device=q.device)
        if causal:
            allowed &= kj <= qi
        left, right = window_size
        if left >= 0:
            allowed &= kj >= qi - left
        if right >= 0:
            allowed &= kj <= qi + right
        return mask_attention(q, k, v, allowed[None], scale)

    def flash_attn_with_kvcache(q, k_cache, v_cache, k=None, v=None, cache_seqlens=None,
                                softmax_scale=None, causal=False, window_size=(-1, -1), **_):
        assert k is None and v is None and not causal and tuple(window_size) == (-1, -1)
        B, Tq = q.shape[:2]
        S = k_cache.shape[1]
        scale = softmax_scale if softmax_scale is not None else q.shape[-1] ** -0.5
        lens = torch.as_tensor(cache_seqlens, device=q.device).reshape(-1)
        allowed = (torch.arange(S, device=q.device)[None, :] < lens[:, None])[:, None, :].expand(B, Tq, S)
        return mask_attention(q, k_cache, v_cache, allowed, scale)

    def unsupported(*a, **k):
        raise NotImplementedError("flash-attn stand-in: padded/varlen inputs are not used here")

    fa = types.ModuleType("flash_attn")
    fa.flash_attn_func = flash_attn_func
    fa.flash_attn_varlen_func = unsupported
    fa.flash_attn_with_kvcache = flash_attn_with_kvcache
    bp = types.ModuleType("flash_attn.bert_padding")
    bp.index_first_axis = bp.pad_input = bp.unpad_input = unsupported
    fa.bert_padding = bp
    sys.modules["flash_attn"], sys.modules["flash_attn.bert_padding"] = fa, bp
    installed.append("flash_attn (PyTorch stand-in)")

    try:
        import einops  # noqa: F401
    except ImportError:
        sys.modules["einops"] = _mini_einops()
        installed.append("einops (minimal stand-in)")
    try:
        import transformers.utils.logging  # noqa: F401
    except ImportError:
        import logging
        tr = types.ModuleType("transformers")
        tu = types.ModuleType("transformers.utils")
        tl = types.ModuleType("transformers.utils.logging")
        tl.get_logger = logging.getLogger
        tu.logging = tl
        tr.utils = tu
        sys.modules.update({"transformers": tr, "transformers.utils": tu, "transformers.utils.logging": tl})
        installed.append("transformers.utils.logging (stand-in)")
    try:
        import packaging.version  # noqa: F401
    except ImportError:
        pk = types.ModuleType("packaging")
        pv = types.ModuleType("packaging.version")

        def parse(s):
            return tuple(int(x) for x in re.findall(r"\d+", str(s).split("+")[0])[:3])
        pv.parse = parse
        pk.version = pv
        sys.modules.update({"packaging": pk, "packaging.version": pv})
        installed.append("packaging.version (stand-in)")
    return installed


def _mini_einops():
    """rearrange / repeat / reduce for the axis patterns the paper's layers use."""
    import torch
    mod = types.ModuleType("einops")

    def parse(side):
        groups, cur = [], None
        for t in re.findall(r"\(|\)|\.\.\.|\w+", side):
            if t == "(":
                cur = []
            elif t == ")":
                groups.append(cur)
                cur = None
            elif cur is not None:
                cur.append(t)
            else:
                groups.append([t])
        return [[a for a in g if a != "1"] for g in groups]

    def expand_ellipsis(groups, n_ell):
        out = []
        for g in groups:
            ng = []
            for a in g:
                ng.extend([f"_e{i}" for i in range(n_ell)] if a == "..." else [a])
            if g == ["..."]:
                out.extend([[f"_e{i}"] for i in range(n_ell)])
            else:
                out.append(ng)
        return out

    def core(x, pattern, sizes, reduction=None):
        lhs, rhs = (s.strip() for s in pattern.split("->"))
        lg, rg = parse(lhs), parse(rhs)
        n_ell = x.dim() - (len(lg) - 1) if any(g == ["..."] for g in lg) else 0
        lg, rg = expand_ellipsis(lg, n_ell), expand_ellipsis(rg, n_ell)
        size = dict(sizes)
        for g, d in zip(lg, x.shape):
            unknown = [a for a in g if a not in size]
            known = math.prod(size[a] for a in g if a in size)
            if len(unknown) == 1:
                size[unknown[0]] = d // known
        elem_l = [a for g in lg for a in g]
        x = x.reshape([size[a] for a in elem_l])
        elem_r = [a for g in rg for a in g]
        gone = [a for a in elem_l if a not in elem_r]
        if gone:
            dims = [elem_l.index(a) for a in gone]
            x = getattr(x, reduction)(dim=dims) if reduction != "mean" else x.mean(dim=dims)
            elem_l = [a for a in elem_l if a not in gone]
        new = [a for a in elem_r if a not in elem_l]
        for a in new:
            x = x.unsqueeze(-1)
            elem_l.append(a)
        x = x.permute([elem_l.index(a) for a in elem_r])
        x = x.expand([size[a] for a in elem_r])
        return x.reshape([math.prod(size[a] for a in g) for g in rg])

    mod.rearrange = lambda x, p, **s: core(x, p, s)
    mod.repeat = lambda x, p, **s: core(x, p, s)
    mod.reduce = lambda x, p, reduction, **s: core(x, p, s, reduction)
    return mod


def import_paper(root: str):
    """Imports the four layer modules without running fla/__init__ (which imports everything)."""
    sys.path.insert(0, root)
    for pkg in ("fla", "fla.layers", "fla.models", "fla.ops"):
        m = types.ModuleType(pkg)
        m.__path__ = [os.path.join(root, *pkg.split("."))]
        sys.modules[pkg] = m
    mods = {n: importlib.import_module(f"fla.layers.{n}") for n in ("gated_deltanet", "attn", "lte", "nsa")}
    mods["modules"] = importlib.import_module("fla.modules")
    return mods


# ----------------------------------------------------------------------------- models

class MiniCache:
    """Same update rules as the paper's fla.models.utils.Cache (re-implemented)."""

    def __init__(self):
        self.states = []
        self._seen_tokens = 0

    def __len__(self):
        return len(self.states)

    def __getitem__(self, i):
        return self.states[i]

    def get_seq_length(self, layer_idx=0):
        return self._seen_tokens if len(self.states) > layer_idx else 0

    def update(self, recurrent_state=None, attn_state=None, conv_state=None, ffn_state=None,
               layer_idx=0, offset=1, cache_kwargs=None):
        import torch
        window = (cache_kwargs or {}).get("window_size")
        if len(self.states) <= layer_idx:
            if layer_idx == 0:
                self._seen_tokens += offset
            if attn_state is not None:
                attn_state = list(attn_state)
                if window is not None and attn_state[0].shape[1] > window:
                    attn_state = [s[:, -window:].contiguous() for s in attn_state]
            self.states.append(dict(recurrent_state=recurrent_state, attn_state=attn_state,
                                    conv_state=conv_state, ffn_state=ffn_state))
        else:
            if layer_idx == len(self.states) - 1:
                self._seen_tokens += offset
            st = self.states[layer_idx]
            if recurrent_state is not None:
                st["recurrent_state"] = recurrent_state
            if attn_state is not None:
                n = attn_state[0].shape[1]
                if window is not None and st["attn_state"][0].shape[1] == window:
                    new = []
                    for old, cur in zip(st["attn_state"], attn_state):
                        old = old.roll(-n, 1)
                        old[:, -n:] = cur
                        new.append(old)
                    st["attn_state"] = new
                else:
                    st["attn_state"] = [torch.cat([o, c], 1) for o, c in zip(st["attn_state"], attn_state)]
            if conv_state is not None:
                st["conv_state"] = conv_state
            if ffn_state is not None:
                st["ffn_state"] = ffn_state
        return self.states[layer_idx]


def build_paper_model(P, cfg):
    import torch.nn as nn
    raw = cfg.raw
    maxpos = raw.get("max_position_embeddings", 2048)
    fm = P["modules"]

    class Block(nn.Module):
        def __init__(self, spec):
            super().__init__()
            p = spec.params
            self.attn_norm = fm.RMSNorm(cfg.hidden_size, eps=cfg.norm_eps)
            if spec.kind == "gdn":
                self.attn = P["gated_deltanet"].GatedDeltaNet(
                    mode="chunk", hidden_size=cfg.hidden_size, expand_v=p["expand_v"], head_dim=p["head_dim"],
                    num_heads=p["num_heads"], num_v_heads=p["num_v_heads"], use_gate=p["use_gate"],
                    use_short_conv=p["use_short_conv"], allow_neg_eigval=p["allow_neg_eigval"],
                    conv_size=p["conv_size"], norm_eps=p["norm_eps"], layer_idx=spec.index)
            elif spec.kind in ("attn", "swa"):
                self.attn = P["attn"].Attention(
                    hidden_size=cfg.hidden_size, num_heads=p["num_heads"], num_kv_heads=p["num_kv_heads"],
                    qkv_bias=p["qkv_bias"], qk_norm=p["qk_norm"], window_size=p["window_size"],
                    rope_theta=p["rope_theta"], max_position_embeddings=maxpos, layer_idx=spec.index)
            elif spec.kind == "lte":
                self.attn = P["lte"].LTEAttention(
                    hidden_size=cfg.hidden_size, num_heads=p["num_heads"], num_kv_heads=p["num_kv_heads"],
                    qkv_bias=p["qkv_bias"], window_size=p["window_size"], rope_theta=p["rope_theta"],
                    max_position_embeddings=maxpos, kernel_sizes=p["kernel_sizes"],
                    kernel_dilations=p["kernel_dilations"], dropout_prob=p["dropout_prob"],
                    buffer_size=p["buffer_size"], sink_size=p["sink_size"],
                    routing_method=p["routing_method"], routing_grad=p["routing_grad"],
                    routing_shared=p["routing_shared"], layer_idx=spec.index)
            elif spec.kind == "nsa":
                self.attn = P["nsa"].NativeSparseAttention(
                    hidden_size=cfg.hidden_size, num_heads=p["num_heads"], num_kv_heads=p["num_kv_heads"],
                    head_dim=p["head_dim"], qkv_bias=p["qkv_bias"], block_size=p["block_size"],
                    block_counts=p["block_counts"], window_size=p["window_size"],
                    rope_theta=p["rope_theta"], max_position_embeddings=maxpos, layer_idx=spec.index)
            self.mlp_norm = fm.RMSNorm(cfg.hidden_size, eps=cfg.norm_eps)
            self.mlp = fm.GatedMLP(hidden_size=cfg.hidden_size, hidden_ratio=raw.get("hidden_ratio", 4),
                                   intermediate_size=raw.get("intermediate_size"), hidden_act="swish",
                                   fuse_swiglu=raw.get("fuse_swiglu", True))

        def forward(self, h, cache):
            residual = h
            out = self.attn(hidden_states=self.attn_norm(h), attention_mask=None,
                            past_key_values=cache, use_cache=cache is not None)
            h, residual = self.mlp_norm(out[0], residual, True)
            return residual + self.mlp(h), out[2]

    class Inner(nn.Module):
        def __init__(self):
            super().__init__()
            self.embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
            self.layers = nn.ModuleList([Block(s) for s in cfg.layers])
            self.norm = fm.RMSNorm(cfg.hidden_size, eps=cfg.norm_eps)

    class LM(nn.Module):
        def __init__(self):
            super().__init__()
            self.model = Inner()
            self.lm_head = nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
            if cfg.tie_word_embeddings:
                self.lm_head.weight = self.model.embeddings.weight

        def forward(self, ids, cache=None):
            h = self.model.embeddings(ids)
            for layer in self.model.layers:
                h, cache = layer(h, cache)
            return self.lm_head(self.model.norm(h)), cache

    return LM()


# ----------------------------------------------------------------------------- runs

def parity_configs():
    import make_golden as mg
    out = {}
    for name, raw in mg.CONFIGS.items():
        out[name] = (name, raw, mg.SEQ_LEN, 64)
    # laLTE at a window whose prefill the paper's Triton kernel accepts ((w+1) % 64 == 0)
    raw = json.loads(json.dumps(mg.CONFIGS["lalte"]))
    raw["attn"].update(window_size=63, buffer_size=36)
    out["lalte_w63"] = ("lalte", raw, 512, 128)
    return out


def run_one(P, key, seed_name, raw, T, L, device, keep_fp16):
    import torch
    import make_golden as mg
    from mnemo_ref import MnemoForCausalLM
    ours64, ids, _, seed = mg.build_model(seed_name, raw=raw, seq_len=T, verbose=False)
    cfg = ours64.cfg
    has_lte = bool(cfg.lte_layers)
    P["lte"].use_flash_attn = has_lte and all((s.params["window_size"] + 1) % 64 == 0
                                              for s in cfg.layers if s.kind == "lte")
    res = {"config": key, "mixers": [s.kind for s in cfg.layers], "T": T, "prefill_len": L, "seed": seed,
           "lte_flash_path": P["lte"].use_flash_attn}
    with torch.no_grad():
        # ours, float64 CPU
        par64 = ours64(ids, mode="fast", lte_mode="paper_eval" if has_lte else "cache")["logits"][0]
        c = ours64.init_cache()
        pre64 = ours64.forward_cached(ids[:, :L], c, mode="fast", lte_prefill="paper")["logits"][0]
        dec64 = torch.cat([ours64.forward_cached(ids[:, t:t + 1], c, mode="fast")["logits"][0]
                           for t in range(L, T)])
        mnemo64 = ours64(ids, mode="fast", lte_mode="cache")["logits"][0]
        # ours, float32 on the device (the float32 floor)
        ours32 = MnemoForCausalLM(cfg).to(device).eval()
        ours32.load_state_dict({k: v.float() for k, v in ours64.state_dict().items()})
        c32 = ours32.init_cache()
        pre32 = ours32.forward_cached(ids[:, :L].to(device), c32, mode="fast", lte_prefill="paper")["logits"][0]
        dec32 = torch.cat([ours32.forward_cached(ids[:, t:t + 1].to(device), c32, mode="fast")["logits"][0]
                           for t in range(L, T)])
        # the paper
        paper = build_paper_model(P, cfg).to(device).eval()
        sd = {k: v.float() for k, v in ours64.paper_state_dict().items()
              if k not in ("model.l1_lambda", "model.num_kept")}
        if cfg.tie_word_embeddings:
            sd["lm_head.weight"] = sd["model.embeddings.weight"]
        missing, unexpected = paper.load_state_dict(sd, strict=False)
        missing = [m for m in missing if not m.endswith("inv_freq") and m not in ("model.l1_lambda", "model.num_kept")]
        if missing or unexpected:
            raise RuntimeError(f"{key}: weight names differ: missing {missing}, unexpected {unexpected}")
        dt = torch.float32
        paper = paper.to(dt)
        idd = ids.to(device)
        t0 = time.time()
        ppar, _ = paper(idd)
        cache = MiniCache()
        ppre, cache = paper(idd[:, :L], cache)
        pdec = []
        for t in range(L, T):
            lg, cache = paper(idd[:, t:t + 1], cache)
            pdec.append(lg[0])
        pdec = torch.cat(pdec)
        res["paper_seconds"] = round(time.time() - t0, 1)

    def d(a, b):
        return (a.double().cpu() - b.double().cpu()).abs().max().item()
    res["parallel"] = d(ppar[0], par64)
    res["prefill"] = d(ppre[0], pre64)
    res["decode"] = d(pdec, dec64[: pdec.shape[0]])
    res["ours32_prefill"] = d(pre32, pre64)
    res["ours32_decode"] = d(dec32, dec64)
    if has_lte:
        res["decode_vs_mnemo_semantics"] = d(pdec, mnemo64[L:])
        res["prefill_vs_mnemo_semantics"] = d(ppre[0], mnemo64[:L])
    res["logit_scale"] = par64.abs().max().item()
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--paper", required=True, help="paper checkout, bare mirror, or folder with fla/")
    ap.add_argument("--configs", nargs="*", help="subset of: " + " ".join(parity_configs()))
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--keep-fp16-cast", action="store_true", help="leave the paper's fp16 casts in")
    ap.add_argument("--tf32", action="store_true", help="allow TF32 in torch and Triton")
    ap.add_argument("--no-compile", action="store_true", help="disable torch.compile (eager)")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    if not args.tf32:
        os.environ.setdefault("TRITON_F32_DEFAULT", "ieee")
    import torch
    torch.backends.cuda.matmul.allow_tf32 = args.tf32
    torch.backends.cudnn.allow_tf32 = args.tf32
    if args.no_compile:
        torch._dynamo.config.disable = True
    tmp = tempfile.mkdtemp(prefix="paper_fla_")
    extract_paper(args.paper, tmp)
    n_patched = 0 if args.keep_fp16_cast else patch_fp16_casts(tmp)
    print("compatibility patches:", ", ".join(patch_for_this_stack(tmp, not args.keep_fp16_cast)) or "none")
    stand_ins = install_stand_ins()
    P = import_paper(tmp)
    print(f"torch {torch.__version__}, device {torch.cuda.get_device_name() if args.device == 'cuda' else args.device}")
    print(f"paper code from {args.paper}; fp16 casts patched out: {n_patched}; stand-ins: {', '.join(stand_ins)}")
    print(f"TF32: {'on' if args.tf32 else 'off (TRITON_F32_DEFAULT=' + os.environ.get('TRITON_F32_DEFAULT', '') + ')'}")
    allc = parity_configs()
    results = []
    for key in args.configs or list(allc):
        seed_name, raw, T, L = allc[key]
        try:
            r = run_one(P, key, seed_name, raw, T, L, args.device, args.keep_fp16_cast)
        except Exception as e:  # keep going; report
            import traceback
            traceback.print_exc()
            r = {"config": key, "error": f"{type(e).__name__}: {e}"}
        results.append(r)
        print(json.dumps(r))
    print("\nconfig        mixers            parallel   prefill    decode     ours32(dec)  vs-mnemo(dec)")
    for r in results:
        if "error" in r:
            print(f"{r['config']:<13} ERROR {r['error']}")
            continue
        mix = "+".join(sorted(set(r["mixers"])))
        print(f"{r['config']:<13} {mix:<17} {r['parallel']:<10.2e} {r['prefill']:<10.2e} {r['decode']:<10.2e} "
              f"{r['ours32_decode']:<12.2e} {r.get('decode_vs_mnemo_semantics', float('nan')):.2e}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
