#!/usr/bin/env python3
"""PyTorch-side fixtures and checks for NewLlm's PyTorch interop (NewLlmModel.FromPyTorch / LoadPyTorch /
SavePyTorch, PyTorchCheckpoint).

  make                 writes the fixtures of this folder (run from anywhere; deterministic):
                         checkpoint.pt          the original trainer's torch.save layout: model_state_dict,
                                                optimizer_state_dict (Adam after 3 steps), train/val losses and PPLs,
                                                current_epoch, and config = a __main__.HHRLHFTrainConfig instance
                         state_dict_fp16.pt     a flat state dict of the same model in float16
                         state_dict_bf16.pt     the same in bfloat16
                         legacy.pt              a flat state dict in PyTorch's legacy (non-zip) format
                         whole_module.pt        torch.save(model): a pickled module, not a state dict
                         int_weights.pt         a flat state dict whose token_embedding.weight is int64
                         damaged.pt             checkpoint.pt cut in half
                         expected.safetensors   input ids, logits (float32 / fp16 / bf16 weights), Adam moments
                         expected.json          the checkpoint's scalars and lists
  check-state-dict P I O   torch.load(P, weights_only=True), load_state_dict(strict=True) into the model, writes
                           the logits for the ids in JSON file I to JSON file O
  check-checkpoint P O     loads P as the original trainer's load_checkpoint does (weights_only=True), resumes
                           Adam for one step, writes what it found to JSON file O

Sizes are odd on purpose (vocab 37, embed 12, hidden 20, context 10, 2 layers).
Run with Debian's PyTorch: OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 pytorch_fixtures.py make
"""
import json, os, struct, sys
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB, EMBED, HIDDEN, CONTEXT, LAYERS = 37, 12, 20, 10, 2


class NewLLM(nn.Module):
    """The original model (same parameter names and shapes as shared/reference/newllm_reference.py)."""

    def __init__(self, vocab, embed, hidden, context, layers, dropout=0.1):
        super().__init__()
        self.context_dim = context
        self.token_embedding = nn.Embedding(vocab, embed)
        stack = []
        for i in range(layers):
            stack += [nn.Linear(embed + context if i == 0 else hidden, hidden), nn.ReLU(), nn.Dropout(dropout)]
        self.fnn_layers = nn.Sequential(*stack)
        self.token_output = nn.Linear(hidden, vocab)
        self.context_update = nn.Linear(hidden, context)
        self.forget_gate = nn.Linear(hidden, context)
        self.input_gate = nn.Linear(hidden, context)
        self.context_norm = nn.LayerNorm(context)

    def forward(self, ids):
        b, t = ids.shape
        emb = self.token_embedding(ids)
        ctx = torch.zeros(b, self.context_dim, dtype=emb.dtype)
        logits = []
        for s in range(t):
            h = self.fnn_layers(torch.cat([emb[:, s], ctx], dim=-1))
            logits.append(self.token_output(h))
            cand = self.context_update(h)
            f = torch.sigmoid(self.forget_gate(h))
            i = torch.sigmoid(self.input_gate(h))
            ctx = torch.clamp(self.context_norm(f * ctx + i * cand), -10.0, 10.0)
        return torch.stack(logits, dim=1)


class HHRLHFTrainConfig:
    """As in the original training script: the sizes are class attributes (never pickled), only what __init__ sets is."""
    vocab_size = VOCAB
    embed_dim = EMBED
    hidden_dim = HIDDEN
    context_vector_dim = CONTEXT

    def __init__(self):
        self.num_layers = LAYERS
        self.max_seq_length = 64


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for k, v in tensors.items():
        raw = v.contiguous().numpy().tobytes()
        header[k] = {"dtype": "I64" if v.dtype == torch.int64 else "F32", "shape": list(v.shape),
                     "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(h)))
        fh.write(h)
        for r in blobs:
            fh.write(r)


def logits_with(model, state, ids):
    m = NewLLM(VOCAB, EMBED, HIDDEN, CONTEXT, LAYERS).eval()
    m.load_state_dict({k: v.float() for k, v in state.items()}, strict=True)
    with torch.no_grad():
        return m(ids).float()


def make():
    torch.manual_seed(7)
    model = NewLLM(VOCAB, EMBED, HIDDEN, CONTEXT, LAYERS)
    for p in model.parameters():  # non-trivial values everywhere, LayerNorm included
        nn.init.normal_(p, 0.0, 0.3)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.85, 0.97), eps=1e-7, weight_decay=0.01)
    ids = torch.randint(0, VOCAB, (3, 9), generator=torch.Generator().manual_seed(3))
    model.eval()  # dropout off, so the steps are reproducible by anyone
    for _ in range(3):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(ids[:, :-1]).reshape(-1, VOCAB), ids[:, 1:].reshape(-1), ignore_index=0)
        loss.backward()
        optimizer.step()

    state = model.state_dict()
    checkpoint = {
        "model_state_dict": state,
        "optimizer_state_dict": optimizer.state_dict(),
        "train_losses": [4.25, 3.5, 3.125],
        "val_losses": [4.0, 3.75, 3.625],
        "train_ppls": [70.1, 33.1, 22.8],
        "val_ppls": [54.6, 42.5, 37.5],
        "current_epoch": 2,  # the original stores the 0-based index of the epoch it has just finished: 2 after 3 epochs
        "config": HHRLHFTrainConfig(),
    }
    torch.save(checkpoint, os.path.join(HERE, "checkpoint.pt"))
    fp16 = {k: v.half() for k, v in state.items()}
    bf16 = {k: v.bfloat16() for k, v in state.items()}
    torch.save(fp16, os.path.join(HERE, "state_dict_fp16.pt"))
    torch.save(bf16, os.path.join(HERE, "state_dict_bf16.pt"))
    torch.save(state, os.path.join(HERE, "legacy.pt"), _use_new_zipfile_serialization=False)
    torch.save(model, os.path.join(HERE, "whole_module.pt"))
    ints = dict(state)
    ints["token_embedding.weight"] = torch.zeros(VOCAB, EMBED, dtype=torch.int64)
    torch.save(ints, os.path.join(HERE, "int_weights.pt"))
    with open(os.path.join(HERE, "checkpoint.pt"), "rb") as fh:
        raw = fh.read()
    with open(os.path.join(HERE, "damaged.pt"), "wb") as fh:
        fh.write(raw[: len(raw) // 2])

    expected = {
        "test.input_ids": ids,
        "test.logits": logits_with(model, state, ids),
        "test.logits_fp16": logits_with(model, fp16, ids),
        "test.logits_bf16": logits_with(model, bf16, ids),
    }
    opt = optimizer.state_dict()
    for index, s in opt["state"].items():
        expected[f"adam.{index}.exp_avg"] = s["exp_avg"]
        expected[f"adam.{index}.exp_avg_sq"] = s["exp_avg_sq"]
    write_safetensors(os.path.join(HERE, "expected.safetensors"), expected)
    group = opt["param_groups"][0]
    scalars = {
        "torch": torch.__version__,
        "parameter_names": [n for n, _ in model.named_parameters()],
        "steps": {str(i): float(s["step"]) for i, s in opt["state"].items()},
        "param_group": {"lr": group["lr"], "betas": list(group["betas"]), "eps": group["eps"],
                        "weight_decay": group["weight_decay"], "amsgrad": group["amsgrad"], "params": group["params"]},
        "train_losses": checkpoint["train_losses"], "val_losses": checkpoint["val_losses"],
        "train_ppls": checkpoint["train_ppls"], "val_ppls": checkpoint["val_ppls"],
        "current_epoch": checkpoint["current_epoch"],
        "config": vars(checkpoint["config"]),
    }
    with open(os.path.join(HERE, "expected.json"), "w") as fh:
        json.dump(scalars, fh, indent=1)
    print(json.dumps({"wrote": HERE, "bytes": {f: os.path.getsize(os.path.join(HERE, f)) for f in sorted(os.listdir(HERE))}}))


def weights_only_load(path):
    """torch.load(path, weights_only=True). torch < 2.0's weights-only unpickler lacks the BINFLOAT opcode (a Python
    float; fixed in 2.0), so no checkpoint with a float in it loads there, the original's own included. On those
    versions only, this adds that one opcode, exactly as 2.x reads it; everything else is the real restricted loader."""
    if int(torch.__version__.split(".")[0]) < 2:
        import pickle, pickletools
        import torch._weights_only_unpickler as wou
        if not getattr(wou.Unpickler, "_newllm_binfloat", False):
            base_load = wou.Unpickler.load

            def load(self):
                data = self.read.__self__  # the io.BytesIO of data.pkl that torch.load hands over
                floats = {pos for op, _, pos in pickletools.genops(data.getvalue()) if op.code == "G"}
                plain_read = self.read

                def read(n):
                    if n == 1 and data.tell() in floats:
                        plain_read(1)
                        self.append(struct.unpack(">d", plain_read(8))[0])
                        return read(1)
                    return plain_read(n)
                self.read = read
                return base_load(self)
            wou.Unpickler.load = load
            wou.Unpickler._newllm_binfloat = True
    return torch.load(path, weights_only=True)


def infer_model(state):
    v, e = state["token_embedding.weight"].shape
    h = state["fnn_layers.0.weight"].shape[0]
    c = state["context_update.weight"].shape[0]
    layers = sum(1 for k in state if k.startswith("fnn_layers.") and k.endswith(".weight"))
    return NewLLM(v, e, h, c, layers)


def check_state_dict(path, ids_json, out_json):
    state = weights_only_load(path)
    model = infer_model(state).eval()
    model.load_state_dict(state, strict=True)
    with open(ids_json) as fh:
        ids = torch.tensor(json.load(fh), dtype=torch.int64)
    with torch.no_grad():
        logits = model(ids)
    with open(out_json, "w") as fh:
        json.dump({"types": sorted({str(v.dtype) for v in state.values()}), "logits": logits.reshape(-1).tolist()}, fh)


def check_checkpoint(path, out_json):
    # What the original trainer's load_checkpoint does, with weights_only=True.
    checkpoint = weights_only_load(path)
    model = infer_model(checkpoint["model_state_dict"])
    model.load_state_dict(checkpoint["model_state_dict"], strict=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1.0)
    optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
    group = optimizer.param_groups[0]
    found = {
        "keys": sorted(checkpoint.keys()),
        "lr": group["lr"], "betas": list(group["betas"]), "eps": group["eps"], "weight_decay": group["weight_decay"],
        "steps": {str(i): float(s["step"]) for i, s in optimizer.state_dict()["state"].items()},
        "exp_avg_sums": {str(i): float(s["exp_avg"].double().sum()) for i, s in optimizer.state_dict()["state"].items()},
        "train_losses": checkpoint["train_losses"], "val_losses": checkpoint["val_losses"],
        "train_ppls": checkpoint["train_ppls"], "val_ppls": checkpoint["val_ppls"],
        "current_epoch": checkpoint["current_epoch"], "config": checkpoint["config"],
        # The original trainer's resume_from_checkpoint: the 0-based epoch it trains next.
        "start_epoch": checkpoint.get("current_epoch", 0) + 1,
    }
    ids = torch.arange(12).remainder(model.token_embedding.num_embeddings).reshape(2, 6)
    model.eval()
    loss = F.cross_entropy(model(ids[:, :-1]).reshape(-1, model.token_output.out_features), ids[:, 1:].reshape(-1))
    loss.backward()
    optimizer.step()  # the resumed Adam takes a step
    found["steps_after"] = {str(i): float(s["step"]) for i, s in optimizer.state_dict()["state"].items()}
    with open(out_json, "w") as fh:
        json.dump(found, fh)


if __name__ == "__main__":
    torch.set_num_threads(1)
    command = sys.argv[1]
    if command == "make":
        make()
    elif command == "check-state-dict":
        check_state_dict(*sys.argv[2:5])
    elif command == "check-checkpoint":
        check_checkpoint(*sys.argv[2:4])
    else:
        raise SystemExit(f"unknown command {command}")
