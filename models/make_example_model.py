"""Make the shipped example model, models/minilm-sst2.ibert, and measure it.

1. Fine-tune all-MiniLM-L6-v2 on SST-2 (models/finetune_example.py; about 20
   minutes on two cores; skipped when models/build/minilm-sst2-hf exists).
2. Convert it to .ibert, calibrating on 512 SST-2 training sentences.
3. Evaluate the integer model against the FP32 checkpoint on SST-2 dev
   (`pyibert eval --reference`) and write the numbers to
   models/minilm-sst2.results.json, which the README's table quotes.

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
RESULTS = MODELS / "minilm-sst2.results.json"


def pyibert(*args: str) -> str:
    """Run the installed pyibert command and return its standard output."""
    command = [sys.executable, "-P", "-m", "pyibert", *args]
    print("+", " ".join(command[3:]), flush=True)
    return subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True).stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=DATA, help=f"shared data (default: {DATA})")
    parser.add_argument("--retrain", action="store_true", help="fine-tune again even if the checkpoint exists")
    args = parser.parse_args()
    if not (args.data_dir / "sst2" / "train.tsv").is_file():
        parser.error(f"{args.data_dir}/sst2/train.tsv not found: pass --data-dir")

    if args.retrain or not (CHECKPOINT / "config.json").is_file():
        subprocess.run([sys.executable, str(MODELS / "finetune_example.py"), "--data-dir", str(args.data_dir),
                        "--output", str(CHECKPOINT)], check=True)
    print(pyibert("convert", str(CHECKPOINT), "-o", str(MODEL_FILE),
                  "--calibration", str(args.data_dir / "sst2" / "train.tsv"), "--max-calibration", "512"))
    result = json.loads(pyibert("eval", str(MODEL_FILE), str(args.data_dir / "sst2" / "dev.tsv"),
                                "--reference", str(CHECKPOINT), "--json"))
    RESULTS.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
