"""Runs ONNX Runtime on token ids inside the emulated arm64 Python (numpy and onnxruntime only).

    python3.11 ort_run.py MODEL.onnx INPUTS.npz REPEAT

INPUTS.npz holds `ids` (one row per sequence, padded) and `lengths`. Each sequence runs REPEAT times,
batch 1, one thread, every token attended; one line per sequence: its label (the argmax of the
logits). bench/arm_peers.py counts instructions over REPEAT = 1 and 3 on one sequence of L tokens,
and reads the labels of many sentences with REPEAT = 1.
"""
import sys

import numpy as np
import onnxruntime


def session(model):
    onnxruntime.disable_telemetry_events()
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def main(argv):
    model, inputs, repeat = argv[1], argv[2], int(argv[3])
    runner = session(model)
    data = np.load(inputs)
    for row, length in zip(data["ids"], data["lengths"]):
        ids = row[:length][None, :].astype(np.int64)
        for _ in range(repeat):
            logits = runner.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0]
        print(int(np.argmax(logits)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
