"""The lines android/test/org/pyibert/IbertModelTest.java prints, computed by the
Python package (pyibert.Model) on the same model and sentences:
    expected.py MODEL SENTENCES
One line per sentence: index, token ids, int32 outputs, label, score (6 decimals)."""
import sys
import warnings

from pyibert import Model
from pyibert.errors import TruncationWarning

model_path, sentences_path = sys.argv[1:3]
with open(sentences_path, encoding="utf-8") as f:
    sentences = f.read().splitlines()
warnings.simplefilter("ignore", TruncationWarning)  # the long sentence is cut to max_tokens, as in Java
with Model(model_path, threads=1) as model:
    for i, sentence in enumerate(sentences):
        ids = model.tokenize(sentence)[0]
        raw, _ = model.forward(ids)
        best = model.classify(sentence)[0]
        print(i, ",".join(map(str, ids)), ",".join(map(str, raw)), best["label"], f"{best['score']:.6f}", sep="\t")
