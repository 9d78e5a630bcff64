"""What the converter raises for a checkpoint or input it cannot convert, and warns of in one it can."""
from __future__ import annotations


class ConversionError(ValueError):
    """The checkpoint, its calibration text or its numbers cannot be turned into a valid .ibert file.

    The message says what is wrong and, where there is one, what to pass instead. The CLI prints it
    and exits with status 2.
    """


class CalibrationWarning(UserWarning):
    """The conversion went through, but its calibration text may not measure the activation ranges
    well: too few tokens, or first texts unlike the rest of the file (sorted by length). The CLI prints
    it as "pyibert convert: warning: ..."."""
