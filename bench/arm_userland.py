"""An emulated arm64 Raspberry Pi OS userland for bench/arm_peers.py, cached under build/arm-userland/.

Pi OS 64-bit is Debian bookworm: its Python is 3.11. The userland is Debian's arm64 bookworm with
python3.11, unpacked without running anything ARM (debootstrap's first stage, then `dpkg-deb -x` of each
downloaded package), so no binfmt, chroot or root-in-a-namespace is needed: qemu-aarch64 runs its
python3.11 with `-L <sysroot>`. The peers' aarch64 cp311 wheels (numpy, ONNX Runtime, LiteRT) are
downloaded by pip for that platform and unpacked into site/, which goes on PYTHONPATH. LiteRT is
ai-edge-litert 1.4.0, the newest release with a Linux aarch64 cp311 wheel; tflite-runtime, its
predecessor, has no cp311 aarch64 wheel, so it cannot be installed on Pi OS bookworm's Python.

qemu-user 7.2 shows the guest the host's x86 /proc/cpuinfo, and ONNX Runtime's cpuinfo library crashes on
it at import. qemu looks up absolute paths under the -L prefix first, so each CPU gets a sysroot of its
own: links into the userland plus a proc/cpuinfo in the format of an arm64 Linux kernel for that core
(its MIDR fields and feature names). The instruction set the code may use still comes from qemu's
-cpu (AT_HWCAP), not from this file.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import zipfile
from dataclasses import dataclass
from pathlib import Path

MIRROR = "http://deb.debian.org/debian"
PACKAGES = "python3.11,libstdc++6,libgomp1"
# Pinned so that reruns count the same code.
WHEELS = ["numpy==2.4.6", "onnxruntime==1.31.1", "ai-edge-litert==1.4.0"]
PLATFORMS = ["manylinux2014_aarch64", "manylinux_2_17_aarch64", "manylinux_2_27_aarch64", "manylinux_2_28_aarch64"]


@dataclass(frozen=True)
class Core:
    """What an arm64 kernel's /proc/cpuinfo says about a core."""
    variant: int
    part: int
    revision: int
    features: str


CORES = {
    "cortex-a72": Core(0x0, 0xD08, 3, "fp asimd evtstrm aes pmull sha1 sha2 crc32 cpuid"),
    "cortex-a76": Core(0x4, 0xD0B, 1, "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid "
                                      "asimdrdm lrcpc dcpop asimddp"),
}


class Userland:
    def __init__(self, root: Path):
        self.root = root
        self.rootfs = root / "rootfs"
        self.site = root / "site"
        self.python = self.rootfs / "usr" / "bin" / "python3.11"

    def ensure(self, pip: list[str]) -> None:
        """Makes whatever part is missing: the userland, the wheels, the per-CPU sysroots."""
        if not self.python.is_file():
            self._debootstrap()
        marker = self.site / ".complete"
        if not marker.is_file() or marker.read_text() != "\n".join(WHEELS) + "\n":
            self._wheels(pip)
        for cpu in CORES:
            self._sysroot(cpu)

    def sysroot(self, cpu: str) -> Path:
        return self.root / "sysroot" / cpu

    def environment(self) -> dict:
        """The guest Python's environment: the wheels, one thread, no telemetry, no .pyc writes."""
        return dict(os.environ, PYTHONPATH=str(self.site), PYTHONDONTWRITEBYTECODE="1", PYTHONHASHSEED="0",
                    OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", ORT_DISABLE_TELEMETRY="1")

    def _debootstrap(self) -> None:
        shutil.rmtree(self.rootfs, ignore_errors=True)
        subprocess.run(["debootstrap", "--foreign", "--arch=arm64", "--variant=minbase", f"--include={PACKAGES}",
                        "bookworm", str(self.rootfs), MIRROR], check=True, stdout=subprocess.DEVNULL)
        for deb in sorted((self.rootfs / "var" / "cache" / "apt" / "archives").glob("*.deb")):
            subprocess.run(["dpkg-deb", "-x", str(deb), str(self.rootfs)], check=True)
        if not self.python.is_file():
            raise SystemExit(f"arm_userland: no python3.11 in {self.rootfs} after debootstrap")

    def _wheels(self, pip: list[str]) -> None:
        wheels = self.root / "wheels"
        shutil.rmtree(wheels, ignore_errors=True)   # only the pinned wheels and their dependencies
        platforms = [arg for platform in PLATFORMS for arg in ("--platform", platform)]
        subprocess.run([*pip, "download", "--quiet", "--only-binary=:all:", *platforms, "--python-version", "3.11",
                        "--implementation", "cp", "--abi", "cp311", "--abi", "abi3", "--abi", "none",
                        "-d", str(wheels), *WHEELS], check=True)
        shutil.rmtree(self.site, ignore_errors=True)
        for wheel in sorted(wheels.glob("*.whl")):
            zipfile.ZipFile(wheel).extractall(self.site)
        (self.site / ".complete").write_text("\n".join(WHEELS) + "\n")

    def _sysroot(self, cpu: str) -> None:
        sysroot = self.sysroot(cpu)
        (sysroot / "proc").mkdir(parents=True, exist_ok=True)
        for top in ("bin", "etc", "lib", "sbin", "usr", "var"):
            link = sysroot / top
            if not link.is_symlink():
                link.symlink_to(Path("..") / ".." / "rootfs" / top)
        (sysroot / "proc" / "cpuinfo").write_text(cpuinfo(CORES[cpu], os.cpu_count() or 1))


def cpuinfo(core: Core, processors: int) -> str:
    block = (f"BogoMIPS\t: 100.00\nFeatures\t: {core.features}\nCPU implementer\t: 0x41\n"
             f"CPU architecture: 8\nCPU variant\t: {core.variant:#x}\nCPU part\t: {core.part:#05x}\n"
             f"CPU revision\t: {core.revision}\n")
    return "".join(f"processor\t: {n}\n{block}\n" for n in range(processors))
