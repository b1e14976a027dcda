"""Writes original_dialogue/ : small synthetic Dolly and UltraChat files (rows made up here, never real rows) and what
the original New-LLM pipeline makes of them (expected.json), for DialogueCorpusOriginalTests.

Run from this folder:  OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=1 /usr/bin/python3 original_dialogue.py   (NumPy 1.24.2)

The rules follow the original's loaders (rato-tokyo/new-llm, src/training/dolly_dataset.py at 2e18b2d8 and
src/training/ultrachat_dataset.py at b7df21d4, with SimpleTokenizer of src/training/dataset.py), re-stated here:
- split: datasets' train_test_split(test_size=0.1, seed=42) = numpy default_rng(42).permutation(n); the first
  ceil(0.1 n) are the test rows, the rest the training rows, both in permutation order;
- Dolly text: "Instruction: {i}", "Context: {c}" when c.strip(), "Response: {r}" joined by " "; the vocabulary counts
  the same parts without the prefixes; UltraChat text: the turns joined by " ", then " ".join(text.split());
  max_samples N keeps train[:N] and test[:N // 10]; the vocabulary counts train[:min(10000, len(train))];
- SimpleTokenizer: counts text.lower().split(), sorted by count (stable, reverse=True), the first vocab_size - 4 words
  get ids 4...; encode = [2] + [id of word.lower() or 1 for word in text.split()] + [3], then tokens[:max_length].
"""
import json
import math
import os
import random

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "original_dialogue")
VOCAB_SIZE = 60
MAX_LENGTH = 24


def split(n):
    permutation = [int(i) for i in np.random.default_rng(42).permutation(n)]
    n_test = math.ceil(0.1 * n)
    return permutation[n_test:], permutation[:n_test]


def build_vocab(texts):
    freq = {}
    for text in texts:
        for word in text.lower().split():
            freq[word] = freq.get(word, 0) + 1
    words = [w for w, _ in sorted(freq.items(), key=lambda x: x[1], reverse=True)[: VOCAB_SIZE - 4]]
    return {w: i + 4 for i, w in enumerate(words)}, words


def encode(vocab, text):
    tokens = [2] + [vocab.get(w.lower(), 1) for w in text.split()] + [3]
    return tokens[:MAX_LENGTH]


def words(rng, n):
    pool = ["Apple", "river", "green", "stone", "light", "cloud", "paper", "music", "bread", "glass", "tiger", "ocean",
            "the", "a", "of", "and", "to", "is", "in", "it", "What", "How", "why", "you", "can", "tell", "me", "about"]
    weights = [1.0 / (k + 1) for k in range(len(pool))]
    return " ".join(rng.choices(pool, weights, k=n))


def write_jsonl(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def main():
    rng = random.Random(20261202)
    expected = {"vocab_size": VOCAB_SIZE, "max_length": MAX_LENGTH}

    dolly = []
    for i in range(120):
        context = words(rng, rng.randint(3, 9)) if i % 3 == 0 else ("  \n" if i % 5 == 0 else "")
        dolly.append({"instruction": words(rng, rng.randint(2, 8)) + "?", "context": context,
                      "response": words(rng, rng.randint(3, 14)) + ".", "category": "open_qa"})
    write_jsonl(os.path.join(OUT, "dolly", "databricks-dolly-15k.jsonl"), dolly)
    train, test = split(len(dolly))

    def dolly_text(e):
        parts = [f"Instruction: {e['instruction']}"]
        if e.get("context", "").strip():
            parts.append(f"Context: {e['context']}")
        parts.append(f"Response: {e['response']}")
        return " ".join(parts)

    def dolly_vocab_text(e):
        parts = [e["instruction"]]
        if e.get("context", "").strip():
            parts.append(e["context"])
        parts.append(e["response"])
        return " ".join(parts)

    vocab, vocab_words = build_vocab([dolly_vocab_text(dolly[i]) for i in train])
    expected["dolly"] = {
        "words": vocab_words,
        "train": {str(i): encode(vocab, dolly_text(dolly[i])) for i in train},
        "test": {str(i): encode(vocab, dolly_text(dolly[i])) for i in test},
    }

    chats = []
    for i in range(90):
        turns = [words(rng, rng.randint(2, 10)) + ("\n\n" if t % 2 else "  ") for t in range(rng.randint(1, 5))]
        chats.append({"id": f"c{i}", "data": turns if i % 17 else []})
    write_jsonl(os.path.join(OUT, "ultrachat", "train_0.jsonl"), chats[:50])
    write_jsonl(os.path.join(OUT, "ultrachat", "train_1.jsonl"), chats[50:])
    train, test = split(len(chats))
    max_samples = 40
    train, test = train[:max_samples], test[: max_samples // 10]

    def chat_text(e):
        parts = [t for t in e["data"]]
        return " ".join(" ".join(parts).split()) if parts else None

    vocab, vocab_words = build_vocab([t for t in (chat_text(chats[i]) for i in train[:10000]) if t is not None])
    expected["ultrachat"] = {
        "max_samples": max_samples,
        "words": vocab_words,
        "train": {str(i): encode(vocab, chat_text(chats[i])) for i in train if chat_text(chats[i]) is not None},
        "test": {str(i): encode(vocab, chat_text(chats[i])) for i in test if chat_text(chats[i]) is not None},
    }
    with open(os.path.join(OUT, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f, indent=1)


if __name__ == "__main__":
    main()
