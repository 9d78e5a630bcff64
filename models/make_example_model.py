"""Make the shipped example models, models/minilm-sst2.ibert (int8) and models/minilm-sst2-qbert.ibert
(Q-BERT low-bit weights under a size budget), and measure them.

1. Fine-tune all-MiniLM-L6-v2 on SST-2 (models/finetune_example.py on the shipped
   checkpoint's 24,000 random training rows; about 4 minutes on two idle cores;
   skipped when models/build/minilm-sst2-hf exists).
2. Convert it to .ibert, calibrating on the first SST-2 training phrases (the converter's
   default budget of 32,768 tokens: about 2,500 phrases); for the
   Q-BERT file, with `--max-size` (the widths chosen by the Gauss-Newton
   Hessian of the loss on 64 of those sentences).
3. Evaluate each integer model against the FP32 checkpoint on SST-2 dev
   (`pyibert eval --reference`) and write the numbers next to it
   (models/minilm-sst2.results.json, models/minilm-sst2-qbert.results.json),
   which the README's table quotes.

CI never runs this: it uses the committed .ibert file. Run it after
`pip install ".[convert]"`.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

MODELS = Path(__file__).resolve().parent
REPO = MODELS.parent
DATA = REPO.parent / "shared" / "data"
CHECKPOINT = MODELS / "build" / "minilm-sst2-hf"
MODEL_FILE = MODELS / "minilm-sst2.ibert"
QBERT_FILE = MODELS / "minilm-sst2-qbert.ibert"
# 8x smaller than the FP32 checkpoint's 90,867,952 B (model.safetensors), the whole file (issue 9's aim;
# on the 872 longest SST-2 dev rows it lost 0.80 points without retraining, bench/qbert_sweep.py)
QBERT_MAX_SIZE = "11.36MB"
# The shipped checkpoint saw a seeded random subset of SST-2's 60,614 training phrases (the script's
# default, a full epoch, gives another model: 93.2% on SST-2 dev instead of 90.2%)
TRAIN_ROWS = "24000"


def pyibert(*args: str) -> str:
    """Run the installed pyibert command and return its standard output."""
    command = [sys.executable, "-P", "-m", "pyibert", *args]
    print("+", " ".join(command[3:]), flush=True)
    return subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DATA, help=f"shared data (default: {DATA})")
    parser.add_argument("--retrain", action="store_true", help="fine-tune again even if the checkpoint exists")
    parser.add_argument("--only", choices=("int8", "qbert"), help="make only this one of the two files")
    args = parser.parse_args()
    if not (args.data_dir / "sst2" / "train.tsv").is_file():
        parser.error(f"{args.data_dir}/sst2/train.tsv not found: pass --data-dir")

    if args.retrain or not (CHECKPOINT / "config.json").is_file():
        subprocess.run([sys.executable, str(MODELS / "finetune_example.py"), "--data-dir", str(args.data_dir),
                        "--output", str(CHECKPOINT), "--max-train-rows", TRAIN_ROWS], check=True)
    calibration = ["--calibration", str(args.data_dir / "sst2" / "train.tsv")]
    made = {"int8": (MODEL_FILE, []),
            "qbert": (QBERT_FILE, ["--max-size", QBERT_MAX_SIZE, "--hessian-samples", "64"])}
    for kind, (model_file, options) in made.items():
        if args.only not in (None, kind):
            continue
        print(pyibert("convert", str(CHECKPOINT), "-o", str(model_file), *calibration, *options))
        result = json.loads(pyibert("eval", str(model_file), str(args.data_dir / "sst2" / "dev.tsv"),
                                    "--reference", str(CHECKPOINT), "--json"))
        model_file.with_suffix(".results.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
