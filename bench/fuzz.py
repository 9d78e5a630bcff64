"""Fuzz the model loader and both tokenizers with libFuzzer (clang, ASan + UBSan) and print a table.

    python3 bench/fuzz.py [--executions N] [--json] [--harness model_load,tokenize_wordpiece,...]

Builds fuzz/ (IBERT_BUILD_FUZZ=ON, clang-16) under build/fuzz, writes the seeds (fuzz/seeds.py), replays
the checked-in regression corpus fuzz/regressions/<harness>/ (every input that ever crashed), then runs
each harness for N executions from a fresh corpus and reports executions, exec/s, coverage (libFuzzer's
cov = instrumented edges reached, ft = features), corpus size, crashes and sanitizer reports.

Harnesses:
  model_load          ibert_model_load_buffer on small converter-made files (then tokenize + forward)
  tokenize_wordpiece  ibert_tokenize with the shipped model's WordPiece tokenizer (30522 tokens)
  tokenize_bpe        ibert_tokenize with a converter-made RoBERTa model's byte-level BPE tokenizer
  model_load_shipped  ibert_model_load_buffer seeded with the 22 MB shipped model alone: its speed, for
                      --shipped-executions executions (each takes about a second under ASan)

Exits 1 if any run crashed or printed a sanitizer report, so the test suite can run it briefly.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from common import csv_list, table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "fuzz"))
import seeds  # noqa: E402

SHIPPED = ROOT / "models" / "minilm-sst2.ibert"
FUZZ_HARNESSES = ["model_load", "tokenize_wordpiece", "tokenize_bpe"]
# A little above the largest seed model (48 KB), so mutations can grow the files a bit;
# tokenizer texts up to libFuzzer's default 4 KB.
MODEL_MAX_LEN = 64 * 1024
TEXT_MAX_LEN = 4096
SANITIZER_REPORT = re.compile(r"ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:")


@dataclass
class Harness:
    name: str
    program: str              # fuzz/<program>.c
    seeds: list[Path]         # seed directories or files
    max_len: int
    model: Path | None = None  # IBERT_FUZZ_MODEL of the tokenizer harnesses


@dataclass
class Result:
    harness: str
    executions: int
    exec_per_s: float
    cov: int
    ft: int
    corpus_inputs: int
    corpus_bytes: str
    crashes: int
    sanitizer_reports: int
    regressions_replayed: int
    log: str


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, check=True, **kwargs)


def find_clang() -> str:
    for name in ("clang-16", "clang"):
        if shutil.which(name):
            return name
    raise SystemExit("fuzz.py: clang not found; bash tools/setup-fuzz.sh installs Debian's clang-16 and libFuzzer")


def build(build_dir: Path, clang: str) -> Path:
    run(["cmake", "-S", str(ROOT), "-B", str(build_dir), f"-DCMAKE_C_COMPILER={clang}",
         "-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DIBERT_BUILD_FUZZ=ON", "-DIBERT_BUILD_CLI=OFF"],
        stdout=subprocess.DEVNULL)
    run(["cmake", "--build", str(build_dir), "-j2"], stdout=subprocess.DEVNULL)
    return build_dir / "fuzz"


def harnesses(seed_dir: Path, shared_data: Path) -> dict[str, Harness]:
    models = seed_dir / "model_load"
    texts = seed_dir / "tokenize"
    seeds.write_model_seeds(models, seed_dir / "scratch", shared_data)
    seeds.write_tokenizer_seeds(texts)
    return {
        "model_load": Harness("model_load", "fuzz_model_load", [models], MODEL_MAX_LEN),
        "tokenize_wordpiece": Harness("tokenize_wordpiece", "fuzz_tokenize", [texts], TEXT_MAX_LEN, SHIPPED),
        "tokenize_bpe": Harness("tokenize_bpe", "fuzz_tokenize", [texts], TEXT_MAX_LEN,
                                models / "roberta-classifier.ibert"),
        "model_load_shipped": Harness("model_load_shipped", "fuzz_model_load", [shipped_seed_dir(seed_dir)],
                                      SHIPPED.stat().st_size),
    }


def shipped_seed_dir(seed_dir: Path) -> Path:
    """A folder holding (a link to) the shipped model: libFuzzer reads seeds from folders."""
    directory = seed_dir / "shipped"
    directory.mkdir(parents=True, exist_ok=True)
    link = directory / SHIPPED.name
    if not link.is_symlink():
        link.symlink_to(SHIPPED)
    return directory


def harness_env(harness: Harness) -> dict:
    env = dict(os.environ)
    if harness.model:
        env["IBERT_FUZZ_MODEL"] = str(harness.model)
    return env


def replay_regressions(program: Path, harness: Harness, log) -> tuple[int, bool]:
    """Runs each file of fuzz/regressions/<name>/ once; (files replayed, all passed)."""
    directory = ROOT / "fuzz" / "regressions" / harness.name
    files = sorted(p for p in directory.glob("*") if p.is_file()) if directory.is_dir() else []
    if not files:
        return 0, True
    done = subprocess.run([str(program), *map(str, files)], env=harness_env(harness), stdout=log,
                          stderr=subprocess.STDOUT)
    return len(files), done.returncode == 0


def parse_log(text: str) -> dict:
    """The last coverage line, the executions and the sanitizer reports of a libFuzzer log."""
    status = re.findall(r"cov: (\d+) ft: (\d+) corp: (\d+)/(\d+\w+)", text)
    cov, ft, inputs, size = status[-1] if status else (0, 0, 0, "0b")
    executed = re.findall(r"stat::number_of_executed_units:\s+(\d+)", text)
    return {"cov": int(cov), "ft": int(ft), "corpus_inputs": int(inputs), "corpus_bytes": size,
            "executions": int(executed[-1]) if executed else 0,
            "sanitizer_reports": len(SANITIZER_REPORT.findall(text))}


def fuzz(program: Path, harness: Harness, executions: int, work: Path, seed: int) -> Result:
    corpus, artifacts = work / "corpus" / harness.name, work / "artifacts" / harness.name
    for directory in (corpus, artifacts):
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
    log_path = work / "logs" / f"{harness.name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    regressions = ROOT / "fuzz" / "regressions" / harness.name
    with log_path.open("w") as log:
        replayed, replay_ok = replay_regressions(program, harness, log)
        # The first directory receives the new corpus; the others (seeds, regressions) are only read.
        inputs = [str(corpus), *map(str, harness.seeds)] + ([str(regressions)] if regressions.is_dir() else [])
        log.write(f"\n=== fuzzing {harness.name} for {executions} executions\n")
        log.flush()
        # -timeout: an input that runs 5 minutes is an endless loop; shorter limits misfire on a busy
        # machine (a 7-byte text that takes 2 ms once stalled 78 s on the shared 2-core build machine)
        start = time.monotonic()
        done = subprocess.run([str(program), f"-runs={executions}", f"-seed={seed}", f"-max_len={harness.max_len}",
                        "-timeout=300", "-rss_limit_mb=4096", "-print_final_stats=1",
                        f"-artifact_prefix={artifacts}/", *inputs],
                              env=harness_env(harness), stdout=log, stderr=subprocess.STDOUT)
        seconds = time.monotonic() - start
    parsed = parse_log(log_path.read_text(errors="replace"))
    # slow-unit-* files are reports, not failures; crash-, leak-, oom- and timeout- end the run
    found = len([p for p in artifacts.iterdir() if not p.name.startswith("slow-unit-")])
    if done.returncode != 0 and not found and not parsed["sanitizer_reports"]:
        raise SystemExit(f"fuzz.py: {harness.name} failed without a crash report (exit {done.returncode}); see {log_path}")
    # exec/s over the whole run, start-up included (libFuzzer's own figure is in whole seconds)
    return Result(harness.name, exec_per_s=round(parsed["executions"] / seconds, 2), crashes=found + (not replay_ok),
                  regressions_replayed=replayed, log=str(log_path), **parsed)


def rate(per_second: float) -> str:
    return f"{per_second:,.0f}" if per_second >= 10 else f"{per_second:.2f}"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=1_000_000, help="per harness (default 1,000,000)")
    parser.add_argument("--shipped-executions", type=int, default=20,
                        help="executions of model_load_shipped (default 20; 0 skips it)")
    parser.add_argument("--harness", type=csv_list, default=FUZZ_HARNESSES,
                        help=f"comma-separated, of {', '.join(FUZZ_HARNESSES)} (default all)")
    parser.add_argument("--seed", type=int, default=1, help="libFuzzer's random seed")
    parser.add_argument("--build-dir", type=Path, default=ROOT / "build" / "fuzz")
    parser.add_argument("--shared-data", type=Path, default=ROOT.parent / "shared" / "data",
                        help="the folder with sst2/train.tsv (the seed tokenizers are trained on it)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    args = parser.parse_args(argv)
    unknown = set(args.harness) - set(FUZZ_HARNESSES)
    if unknown:
        parser.error(f"unknown harness {', '.join(sorted(unknown))}; choose from {', '.join(FUZZ_HARNESSES)}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    programs = build(args.build_dir, find_clang())
    work = args.build_dir / "run"
    available = harnesses(work / "seeds", args.shared_data)
    plan = [(name, args.executions) for name in args.harness]
    if args.shipped_executions > 0:
        plan.append(("model_load_shipped", args.shipped_executions))
    results = []
    for name, executions in plan:
        harness = available[name]
        results.append(fuzz(programs / harness.program, harness, executions, work, args.seed))
        if not args.json:
            print(f"{name}: done, log {results[-1].log}", file=sys.stderr)
    if args.json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        print(table(["harness", "executions", "exec/s", "cov", "ft", "corpus", "crashes", "sanitizer reports",
                     "regressions replayed"],
                    [[r.harness, f"{r.executions:,}", rate(r.exec_per_s), str(r.cov), str(r.ft),
                      f"{r.corpus_inputs} / {r.corpus_bytes}", str(r.crashes), str(r.sanitizer_reports),
                      str(r.regressions_replayed)] for r in results]))
    return 1 if any(r.crashes or r.sanitizer_reports for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
