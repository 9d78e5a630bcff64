"""Model.choose: multiple choice. Each (prompt, choice) pair is one sequence [CLS] prompt [SEP] choice
[SEP] whose head gives one score (as transformers' *ForMultipleChoice); a prompt's choices are softmaxed
against each other."""
from __future__ import annotations

import numpy as np

from . import names
from .check import require_task
from .scores import softmax


def _choice_lists(prompts, choices) -> tuple[list, list[list]]:
    if isinstance(prompts, (str, bytes)):
        prompts, choices = [prompts], [choices]
    prompts = list(prompts)
    choices = [list(c) if not isinstance(c, (str, bytes)) else None for c in choices]
    if len(choices) != len(prompts):
        raise ValueError(f"{len(prompts)} prompts but {len(choices)} lists of choices: pass one list per prompt")
    for i, options in enumerate(choices):
        if not options:
            raise ValueError(f"choices[{i}] must be a non-empty list of strings")
    return prompts, choices


def choose(model, prompts, choices) -> list[dict]:
    require_task(model, "choose", (names.MULTIPLE_CHOICE,))
    prompts, choices = _choice_lists(prompts, choices)
    results = []
    for prompt, options in zip(prompts, choices):
        encoded = model.tokenize([prompt] * len(options), options)
        scores = np.array([out[0] for out in model.run_encoded(encoded)], dtype=np.float64) * model.output_scale
        probabilities = softmax(scores)
        results.append({"scores": [float(p) for p in probabilities], "best": int(probabilities.argmax())})
    return results
