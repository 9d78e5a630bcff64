"""Runs LiteRT on token ids inside the emulated arm64 Python (numpy and ai-edge-litert only).

    python3.11 litert_run.py MODEL.tflite INPUTS.npz REPEAT

MODEL.tflite is one of bench/tflite_export.py's files: static shape [1, L], inputs input_ids and
attention_mask (int32, in that order). INPUTS.npz holds `ids` (one row per sequence, padded) and
`lengths`; a sequence shorter than L is padded with masked positions, one longer is an error. Each
sequence runs REPEAT times, batch 1, one thread, with LiteRT's default op resolver (XNNPACK for what it
takes, as a Pi app gets it); one line per sequence: its label (the argmax of the logits).
"""
import sys

import numpy as np
from ai_edge_litert.interpreter import Interpreter


def main(argv):
    model, inputs, repeat = argv[1], argv[2], int(argv[3])
    interpreter = Interpreter(model_path=model, num_threads=1)
    interpreter.allocate_tensors()
    run = interpreter.get_signature_runner()
    # the converter names the inputs args_0, args_1 in forward()'s order: input_ids, attention_mask
    ids_name, mask_name = sorted(run.get_input_details())
    width = run.get_input_details()[ids_name]["shape"][1]
    data = np.load(inputs)
    for row, length in zip(data["ids"], data["lengths"]):
        if length > width:
            sys.exit(f"litert_run: a sequence of {length} tokens does not fit the model's {width}")
        ids = np.zeros((1, width), dtype=np.int32)
        ids[0, :length] = row[:length]
        mask = (np.arange(width) < length).astype(np.int32)[None, :]
        for _ in range(repeat):
            logits = next(iter(run(**{ids_name: ids, mask_name: mask}).values()))
        print(int(np.argmax(logits)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
