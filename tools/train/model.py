"""Llama-architecture transformer (no biases, RMSNorm, GQA, RoPE on adjacent
pairs (2i, 2i+1) as in GGUF/llama.cpp "normal" rope, SwiGLU MLP)."""
import math
from dataclasses import dataclass, asdict

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class Config:
    vocab_size: int = 4096
    d_model: int = 256
    n_layers: int = 6
    n_heads: int = 4
    n_kv_heads: int = 2
    d_ff: int = 704
    ctx: int = 256
    rope_base: float = 10000.0
    norm_eps: float = 1e-5
    tied: bool = True

    @property
    def head_dim(self):
        return self.d_model // self.n_heads

    def to_dict(self):
        return asdict(self)


class RMSNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(head_dim, ctx, base, device=None):
    i = torch.arange(0, head_dim, 2, dtype=torch.float64)
    theta = base ** (-i / head_dim)                  # theta_i = base^(-2i/head_dim)
    pos = torch.arange(ctx, dtype=torch.float64)
    ang = torch.outer(pos, theta)                      # [ctx, head_dim/2]
    return ang.cos().float().to(device), ang.sin().float().to(device)


def apply_rope(x, cos, sin):
    # x: [B, H, T, hd]; rotate adjacent pairs (x[2i], x[2i+1])
    x0 = x[..., 0::2]
    x1 = x[..., 1::2]
    T = x.shape[2]
    c, s = cos[:T], sin[:T]
    y0 = x0 * c - x1 * s
    y1 = x0 * s + x1 * c
    return torch.stack((y0, y1), dim=-1).flatten(-2)


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, hd = cfg.d_model, cfg.head_dim
        self.cfg = cfg
        self.attn_norm = RMSNorm(d, cfg.norm_eps)
        self.wq = nn.Linear(d, cfg.n_heads * hd, bias=False)
        self.wk = nn.Linear(d, cfg.n_kv_heads * hd, bias=False)
        self.wv = nn.Linear(d, cfg.n_kv_heads * hd, bias=False)
        self.wo = nn.Linear(cfg.n_heads * hd, d, bias=False)
        self.ffn_norm = RMSNorm(d, cfg.norm_eps)
        self.w_gate = nn.Linear(d, cfg.d_ff, bias=False)
        self.w_up = nn.Linear(d, cfg.d_ff, bias=False)
        self.w_down = nn.Linear(cfg.d_ff, d, bias=False)

    def forward(self, x, cos, sin, mask):
        cfg = self.cfg
        B, T, _ = x.shape
        h = self.attn_norm(x)
        q = self.wq(h).view(B, T, cfg.n_heads, cfg.head_dim).transpose(1, 2)
        k = self.wk(h).view(B, T, cfg.n_kv_heads, cfg.head_dim).transpose(1, 2)
        v = self.wv(h).view(B, T, cfg.n_kv_heads, cfg.head_dim).transpose(1, 2)
        q = apply_rope(q, cos, sin)
        k = apply_rope(k, cos, sin)
        rep = cfg.n_heads // cfg.n_kv_heads
        if rep > 1:
            k = k.repeat_interleave(rep, dim=1)   # head h uses kv head h // rep
            v = v.repeat_interleave(rep, dim=1)
        att = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(cfg.head_dim))
        att = att.masked_fill(mask[:T, :T], float("-inf")).softmax(-1)
        o = (att @ v).transpose(1, 2).reshape(B, T, cfg.n_heads * cfg.head_dim)
        x = x + self.wo(o)
        h = self.ffn_norm(x)
        x = x + self.w_down(F.silu(self.w_gate(h)) * self.w_up(h))
        return x


class LM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.tok = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList([Block(cfg) for _ in range(cfg.n_layers)])
        self.norm = RMSNorm(cfg.d_model, cfg.norm_eps)
        if not cfg.tied:
            self.out = nn.Linear(cfg.d_model, cfg.vocab_size, bias=False)
        cos, sin = rope_tables(cfg.head_dim, cfg.ctx, cfg.rope_base)
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        self.register_buffer("mask", torch.ones(cfg.ctx, cfg.ctx, dtype=torch.bool).triu(1), persistent=False)
        self.reset_parameters()

    def reset_parameters(self):
        std = 0.02
        for n, p in self.named_parameters():
            if p.dim() == 2:
                s = std
                if n.endswith("wo.weight") or n.endswith("w_down.weight"):
                    s = std / math.sqrt(2 * self.cfg.n_layers)
                nn.init.normal_(p, 0.0, s)

    def head_weight(self):
        return self.tok.weight if self.cfg.tied else self.out.weight

    def forward(self, idx, return_hidden=False):
        x = self.tok(idx)
        for b in self.blocks:
            x = b(x, self.cos, self.sin, self.mask)
        x = self.norm(x)
        logits = x @ self.head_weight().t()
        return logits

    def n_params(self):
        return sum(p.numel() for p in self.parameters())
