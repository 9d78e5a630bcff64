"""Q-BERT on the converter side (issue 9): low-bit group-wise weight quantization, bit packing,
Hessian sensitivity and the size-budgeted bit allocation. Float/numpy only: the integer format and
kernels that will read these codes are not written yet, so nothing here is used by `pyibert convert`."""
