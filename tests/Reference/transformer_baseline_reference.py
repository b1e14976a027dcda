#!/usr/bin/env python3
"""Reference PyTorch implementation of the original New-LLM repository's Transformer baseline
(src/models/transformer_baseline.py, TransformerLM at b7df21d4), written compactly with the same
modules, parameter names and initialisation: token + learned position embeddings, embedding dropout,
post-LayerNorm blocks (fused qkv_proj, out_proj, causal mask, attention dropout, GELU FFN as an
nn.Sequential with dropouts), final LayerNorm ln_f, untied output_projection; Linear and Embedding
weights N(0, 0.02), biases 0, LayerNorms 1 / 0.

Run with Debian's PyTorch (apt-get install python3-torch), e.g.
  /usr/bin/python3 transformer_baseline_reference.py export --out baseline.safetensors --seed 1
Prints one JSON line.
"""
import argparse, json, math, struct
import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    def __init__(self, embed, heads, dropout):
        super().__init__()
        self.heads, self.head_dim = heads, embed // heads
        self.qkv_proj = nn.Linear(embed, 3 * embed)
        self.out_proj = nn.Linear(embed, embed)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x, mask):
        b, t, e = x.shape
        q, k, v = self.qkv_proj(x).reshape(b, t, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        scores = torch.matmul(q, k.transpose(-2, -1)) / math.sqrt(self.head_dim)
        weights = self.dropout(torch.softmax(scores.masked_fill(mask == 0, float("-inf")), dim=-1))
        return self.out_proj(torch.matmul(weights, v).transpose(1, 2).reshape(b, t, e))


class Block(nn.Module):
    def __init__(self, embed, heads, hidden, dropout):
        super().__init__()
        self.attention = Attention(embed, heads, dropout)
        self.norm1 = nn.LayerNorm(embed)
        self.dropout1 = nn.Dropout(dropout)
        self.ffn = nn.Sequential(nn.Linear(embed, hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(hidden, embed), nn.Dropout(dropout))
        self.norm2 = nn.LayerNorm(embed)
        self.dropout2 = nn.Dropout(dropout)

    def forward(self, x, mask):
        x = self.norm1(x + self.dropout1(self.attention(x, mask)))
        return self.norm2(x + self.dropout2(self.ffn(x)))


class TransformerLM(nn.Module):
    def __init__(self, vocab=1000, embed=256, heads=4, hidden=1024, layers=2, max_seq=32, dropout=0.1):
        super().__init__()
        self.token_embedding = nn.Embedding(vocab, embed)
        self.position_embedding = nn.Embedding(max_seq, embed)
        self.dropout = nn.Dropout(dropout)
        self.blocks = nn.ModuleList([Block(embed, heads, hidden, dropout) for _ in range(layers)])
        self.ln_f = nn.LayerNorm(embed)
        self.output_projection = nn.Linear(embed, vocab)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight); nn.init.zeros_(m.bias)

    def forward(self, ids):
        t = ids.shape[1]
        x = self.dropout(self.token_embedding(ids) + self.position_embedding(torch.arange(t).unsqueeze(0)))
        mask = torch.tril(torch.ones(t, t, dtype=torch.bool)).unsqueeze(0).unsqueeze(0)
        for block in self.blocks:
            x = block(x, mask)
        return self.output_projection(self.ln_f(x))


def export(a):
    """Writes initial weights (safetensors, float32) plus the logits for a fixed input (eval mode) and the
    loss before each of three Adam steps (lr 1e-3, dropout off, grad-norm clip 1.0, PAD id 0 ignored)."""
    torch.manual_seed(a.seed)
    m = TransformerLM(a.vocab, a.embed, a.heads, a.hidden, a.layers, a.max_seq, dropout=0.0).eval()
    ids = torch.randint(0, a.vocab, (2, a.seq), generator=torch.Generator().manual_seed(a.seed))
    tensors = {k: v.detach().float().clone().contiguous() for k, v in m.state_dict().items()}
    with torch.no_grad():
        logits = m(ids)
    opt = torch.optim.Adam(m.parameters(), lr=1e-3)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = F.cross_entropy(m(ids[:, :-1]).reshape(-1, a.vocab), ids[:, 1:].reshape(-1), ignore_index=0)
        losses.append(loss.item())
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
    tensors["test.input_ids"] = ids.to(torch.int64)
    tensors["test.logits"] = logits.float().contiguous()
    tensors["test.train_losses"] = torch.tensor(losses, dtype=torch.float32)
    tensors["test.num_heads"] = torch.tensor([a.heads], dtype=torch.int64)
    header, blobs, off = {}, [], 0
    for k, v in tensors.items():
        raw = v.numpy().tobytes()
        header[k] = {"dtype": "I64" if v.dtype == torch.int64 else "F32", "shape": list(v.shape),
                     "data_offsets": [off, off + len(raw)]}
        blobs.append(raw); off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(a.out, "wb") as fh:
        fh.write(struct.pack("<Q", len(h))); fh.write(h)
        for r in blobs: fh.write(r)
    print(json.dumps({"wrote": a.out, "tensors": len(tensors), "train_losses": losses}))


if __name__ == "__main__":
    p = argparse.ArgumentParser()
    p.add_argument("cmd", choices=["export"])
    p.add_argument("--vocab", type=int, default=50); p.add_argument("--embed", type=int, default=32)
    p.add_argument("--heads", type=int, default=4); p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--layers", type=int, default=2); p.add_argument("--max_seq", type=int, default=32)
    p.add_argument("--seq", type=int, default=16); p.add_argument("--seed", type=int, default=1)
    p.add_argument("--out", default="transformer-baseline-small.safetensors")
    a = p.parse_args()
    export(a)
