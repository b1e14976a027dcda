"""Writes numpy_split.json, the NumPy reference for DatasetSplitTests.

Run from this folder:  OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 numpy_split.py
(made with NumPy 1.24.2; the PCG64/SeedSequence/permutation stream has been stable since NumPy 1.17).

For each (n, seed): SeedSequence(seed).generate_state(4, uint64) (PCG64's seed words), PCG64(seed)'s first
64-bit and 32-bit outputs, default_rng(seed).permutation(n) (the SHA-256 of its little-endian int32 bytes, and the
entries themselves up to n = 100, else the first and last 20), and the `datasets` train_test_split of n rows for a few
float test sizes (sizes and SHA-256s; entries up to 100), following datasets' Dataset.train_test_split (src/datasets/arrow_dataset.py): n == 0 gives two
empty splits; n_test = ceil(test_size * n), n_train = n - n_test, n_train == 0 is an error; the permutation's first
n_test entries are the test split and the next n_train the train split, in permutation order. The datasets package
itself is not needed: the split is that slicing of the permutation.
"""
import hashlib
import json
import math
import os

import numpy as np

SIZES = [0, 1, 2, 3, 10, 100, 1000, 15011, 70000]
SEEDS = [0, 1, 42, 12345, 2**32 + 5, 2**63 + 7, 2**64 - 1]
TEST_SIZES = [0.1, 0.25, 0.5]
FULL_UP_TO = 100
EDGE = 20


def sha256(indices):
    return hashlib.sha256(np.asarray(indices, dtype="<i4").tobytes()).hexdigest()


def summary(indices, edges=True):
    indices = [int(i) for i in indices]
    out = {"length": len(indices), "sha256": sha256(indices)}
    if len(indices) <= FULL_UP_TO:
        out["values"] = indices
    elif edges:
        out["head"] = indices[:EDGE]
        out["tail"] = indices[-EDGE:]
    return out


def split(n, test_size, seed):
    if n == 0:
        return {"test_size": test_size, "n_test": 0, "n_train": 0, "test": summary([]), "train": summary([])}
    n_test = math.ceil(test_size * n)
    n_train = n - n_test
    if n_train == 0:
        return {"test_size": test_size, "error": "empty train split"}
    permutation = np.random.default_rng(seed).permutation(n)
    return {
        "test_size": test_size,
        "n_test": n_test,
        "n_train": n_train,
        "test": summary(permutation[:n_test], edges=False),
        "train": summary(permutation[n_test:n_test + n_train], edges=False),
    }


def main():
    seeds = []
    for seed in SEEDS:
        bitgen = np.random.PCG64(seed)
        raw64 = [int(v) for v in bitgen.random_raw(6)]
        bitgen32 = np.random.PCG64(seed)
        raw32 = [int(bitgen32.ctypes.next_uint32(bitgen32.ctypes.state)) for _ in range(6)]
        state = [int(v) for v in np.random.SeedSequence(seed).generate_state(4, np.uint64)]
        seeds.append({"seed": str(seed), "state": [str(v) for v in state],
                      "next64": [str(v) for v in raw64], "next32": raw32})
    cases = []
    for n in SIZES:
        for seed in SEEDS:
            permutation = np.random.default_rng(seed).permutation(n)
            cases.append({"n": n, "seed": str(seed), "permutation": summary(permutation),
                          "splits": [split(n, t, seed) for t in TEST_SIZES]})
    document = {"numpy": np.__version__, "seeds": seeds, "cases": cases}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "numpy_split.json")
    compact = {"separators": (",", ":")}
    with open(path, "w", encoding="utf-8") as f:
        # One seed or case a line: small, and a regenerated file diffs by case.
        f.write('{"numpy":%s,\n"seeds":[\n' % json.dumps(document["numpy"]))
        f.write(",\n".join(json.dumps(s, **compact) for s in document["seeds"]))
        f.write('],\n"cases":[\n')
        f.write(",\n".join(json.dumps(c, **compact) for c in document["cases"]))
        f.write("]}\n")


if __name__ == "__main__":
    main()
