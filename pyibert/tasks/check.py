"""Whether a Model method fits the file's head, and the error that says what the file can do instead."""
from __future__ import annotations

from ..errors import TaskError
from . import names

# What each task's file serves, for the error message.
SERVES = {
    names.ENCODER: "forward() gives its final hidden states",
    names.SEQUENCE_CLASSIFICATION: "classify() and logits() label a text or a pair of texts",
    names.REGRESSION: "classify() scores a text or a pair of texts",
    names.TOKEN_CLASSIFICATION: "tag() labels every word",
    names.QUESTION_ANSWERING: "answer() finds answers in a context",
    names.MULTIPLE_CHOICE: "choose() scores the choices of a prompt",
}


def require_task(model, method: str, tasks: tuple[str, ...]) -> None:
    """Raise TaskError unless model.task is one of `tasks`."""
    if model.task in tasks:
        return
    serves = SERVES.get(model.task, "no method of this pyibert")
    raise TaskError(f"{model.path} is a {model.task} model ({serves}); {method}() needs a "
                    f"{' or '.join(tasks)} model")
