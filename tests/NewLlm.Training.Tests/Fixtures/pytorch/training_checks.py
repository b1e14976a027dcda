#!/usr/bin/env python3
"""PyTorch-side checks and fixtures for the Trainer's checkpoints (NewLlm.Training.Tests, PyTorchCheckpointTests).

Reuses the Core fixtures' script (pytorch_fixtures.py, copied beside this one in the test output): its NewLLM (the
original model), infer_model and weights_only_load (torch.load(weights_only=True), with the one opcode torch < 2 lacks).

  check-newllm P I O       P is a checkpoint the Trainer wrote. As the original trainer's load_checkpoint does:
                           torch.load(P, weights_only=True), load_state_dict(strict=True) into NewLLM, Adam's
                           load_state_dict, then one Adam step on the ids in JSON file I; writes to JSON file O the
                           keys, scalars, lists, config, the logits for I before the step, and the step counts after
  make-resume C B O        C is the original's checkpoint (the Core fixture checkpoint.pt), B a JSON file with
                           {"inputs", "targets", "batch", "seq", "pad_id", "steps"}: resumes C (dropout 0) and takes
                           that many Adam steps on the batch (loss = summed cross-entropy over non-PAD targets / their
                           count, no clipping), writes B plus "losses" (before each step) to O
"""
import json, os, sys
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pytorch_fixtures import HHRLHFTrainConfig, NewLLM, infer_model, weights_only_load  # noqa: E402,F401 (the config class: __main__.HHRLHFTrainConfig, as in the original's script)


def resumed(path, trusted=False):
    # The original's own checkpoints pickle a __main__ config class, which only a full (trusted) load reads.
    checkpoint = torch.load(path) if trusted else weights_only_load(path)
    state = checkpoint["model_state_dict"]
    model = infer_model(state)
    model.load_state_dict(state, strict=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1.0)
    optimizer.load_state_dict(checkpoint["optimizer_state_dict"])
    return checkpoint, model, optimizer


def check_newllm(path, ids_json, out_json):
    checkpoint, model, optimizer = resumed(path)
    with open(ids_json) as fh:
        ids = torch.tensor(json.load(fh), dtype=torch.int64)
    model.eval()
    with torch.no_grad():
        logits = model(ids)
    group = optimizer.param_groups[0]
    found = {
        "keys": sorted(checkpoint.keys()),
        "torch": torch.__version__,
        "lr": group["lr"], "betas": list(group["betas"]), "eps": group["eps"], "weight_decay": group["weight_decay"],
        "steps": [float(s["step"]) for _, s in sorted(optimizer.state_dict()["state"].items())],
        "exp_avg_sums": [float(s["exp_avg"].double().sum()) for _, s in sorted(optimizer.state_dict()["state"].items())],
        "train_losses": checkpoint["train_losses"], "val_losses": [None if v != v else v for v in checkpoint["val_losses"]],
        "train_ppls": checkpoint["train_ppls"], "current_epoch": checkpoint["current_epoch"], "config": checkpoint["config"],
        # The original trainer's resume_from_checkpoint: the 0-based epoch it trains next.
        "start_epoch": checkpoint.get("current_epoch", 0) + 1,
        "logits": logits.reshape(-1).tolist(),
    }
    loss = F.cross_entropy(model(ids[:, :-1]).reshape(-1, model.token_output.out_features), ids[:, 1:].reshape(-1))
    loss.backward()
    optimizer.step()
    found["steps_after"] = [float(s["step"]) for _, s in sorted(optimizer.state_dict()["state"].items())]
    with open(out_json, "w") as fh:
        json.dump(found, fh)


def make_resume(path, batch_json, out_json):
    _, model, optimizer = resumed(path, trusted=True)
    for m in model.modules():
        if isinstance(m, torch.nn.Dropout):
            m.p = 0.0
    model.train()
    with open(batch_json) as fh:
        batch = json.load(fh)
    shape = (batch["batch"], batch["seq"])
    inputs = torch.tensor(batch["inputs"], dtype=torch.int64).reshape(shape)
    targets = torch.tensor(batch["targets"], dtype=torch.int64).reshape(shape)
    count = int((targets != batch["pad_id"]).sum())
    losses = []
    for _ in range(batch["steps"]):
        optimizer.zero_grad()
        logits = model(inputs)
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=batch["pad_id"], reduction="sum")
        losses.append(float(nll) / count)
        (nll / count).backward()
        optimizer.step()
    batch["losses"] = losses
    batch["torch"] = torch.__version__
    with open(out_json, "w") as fh:
        json.dump(batch, fh)


if __name__ == "__main__":
    torch.set_num_threads(1)
    command = sys.argv[1]
    if command == "check-newllm":
        check_newllm(*sys.argv[2:5])
    elif command == "make-resume":
        make_resume(*sys.argv[2:5])
    else:
        raise SystemExit(f"unknown command {command}")
