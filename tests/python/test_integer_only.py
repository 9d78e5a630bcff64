"""The promise: after load, inference executes integer instructions only.

Rather than trusting the source, disassemble the library the package ships and
fail on any floating-point arithmetic or conversion instruction anywhere in it
(the loader and tokenizer need no floating point either, so the whole library
is held to it). Register moves and bitwise ops on xmm registers are allowed:
compilers use them for integer copies and zeroing."""
import re
import shutil
import subprocess

import pytest

from pyibert._native import library_path

FLOAT_ARITHMETIC = re.compile(
    r"^v?(add|sub|mul|div|sqrt|min|max|rcp|rsqrt|round|hadd|hsub|addsub|dp|f[n]?m(add|sub)\w*)(ss|sd|ps|pd)$"
    r"|^v?cvt\w+$"          # every cvt* converts to or from a float format
    r"|^v?u?comis[sd]$"     # float compares
    r"|^v?cmp\w*(ss|sd|ps|pd)$"
    r"|^f(ld|st|add|sub|mul|div|sqrt|abs|chs|com|ucom|i|x|prem|scale|rndint|sin|cos|patan|yl2x)\w*$"  # x87
    r"|^v?(fmadd|fmsub|fnmadd|fnmsub)\w*$"
    # AArch64 / ARMv7 scalar and vector float instructions
    r"|^f(add|sub|mul|div|sqrt|madd|msub|nmadd|nmsub|cvt\w*|mla|mls|max\w*|min\w*|cm\w+|abs|neg|rint\w*|recpe|rsqrte)$"
    r"|^[su]cvtf$|^v(add|sub|mul|div|sqrt|cvt)\.f(32|64)\w*$"
)


def _disassembly():
    objdump = shutil.which("objdump")
    if objdump is None:
        pytest.fail("objdump (binutils) is needed to check the compiled code")
    return subprocess.run([objdump, "-d", "--no-show-raw-insn", str(library_path)],
                          check=True, capture_output=True, text=True).stdout


def _instructions(disassembly):
    function = None
    for line in disassembly.splitlines():
        header = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
        if header:
            function = header.group(1)
            continue
        parts = line.split("\t")
        if len(parts) >= 2 and function is not None:
            yield function, parts[1].split()[0] if parts[1].split() else ""


def test_the_checker_recognises_float_instructions():
    for mnemonic in ["addss", "vmulps", "cvtsi2sd", "ucomisd", "fld", "fmadd", "scvtf", "vfmadd231ps"]:
        assert FLOAT_ARITHMETIC.match(mnemonic), mnemonic
    for mnemonic in ["add", "imul", "movaps", "movdqu", "pxor", "xorps", "pmaddwd", "vpdpbusd", "sar", "movq"]:
        assert not FLOAT_ARITHMETIC.match(mnemonic), mnemonic


def test_library_has_no_floating_point_instructions():
    instructions = list(_instructions(_disassembly()))
    assert len(instructions) > 1000, "the disassembly looks empty: is libibert built?"
    ours = [(f, m) for f, m in instructions if not f.endswith("@plt")]
    float_ops = sorted({f"{f}: {m}" for f, m in ours if FLOAT_ARITHMETIC.match(m)})
    assert not float_ops, "floating-point instructions in libibert:\n" + "\n".join(float_ops)
    functions = {f.split("@")[0] for f, _ in ours}
    assert "ibert_forward" in functions
