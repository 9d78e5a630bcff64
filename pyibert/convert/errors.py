"""The one exception the converter raises for a checkpoint or input it cannot convert."""
from __future__ import annotations


class ConversionError(ValueError):
    """The checkpoint, its calibration text or its numbers cannot be turned into a valid .ibert file.

    The message says what is wrong and, where there is one, what to pass instead. The CLI prints it
    and exits with status 2.
    """
