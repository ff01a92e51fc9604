"""Bounded memory: a 2 GiB generated stream is encrypted and decrypted in < 100 MiB RSS.

Each case runs in a fresh interpreter that generates the plaintext on the fly (never a
file, never in memory), encrypts it into a pipe on one thread, decrypts from the pipe on
another, checks the CRC-32 of what comes out, and reports its peak RSS: VmHWM from
/proc/self/status, not ``ru_maxrss``, which after fork and exec also counts the parent's
peak (the pytest worker's).

Both cases are 2 GiB with 64 KiB frames. Measured on 2 vCPUs (AMD EPYC): the non-signing
committing suite (0x0478) takes about 5 s; the default signing suite (0x0578) about 15 s,
as it is bound by SHA-384 and spools the decrypted plaintext to a temporary file until the
signature verifies (ADR 0006), i.e. it needs 2 GiB of free temporary disk. Peak RSS was
about 47 MiB for both, most of it the interpreter and its imports.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

CHILD = r"""
import io, json, os, sys, threading, zlib
from cofre import esdk

size, suite_id, frame_length = int(sys.argv[1]), int(sys.argv[2], 16), int(sys.argv[3])
block = os.urandom(1 << 20)

class Generated(io.RawIOBase):
    def __init__(self):
        self.left, self.crc = size, 0
    def readable(self):
        return True
    def read(self, n=-1):
        n = self.left if n < 0 else min(n, self.left)
        out = bytearray()
        while len(out) < n:
            pos = (size - self.left + len(out)) % len(block)
            out += block[pos : pos + n - len(out)]
        self.left -= n
        self.crc = zlib.crc32(out, self.crc)
        return bytes(out)

class Check:
    def __init__(self):
        self.length, self.crc = 0, 0
    def write(self, data):
        self.length += len(data)
        self.crc = zlib.crc32(data, self.crc)
        return len(data)

keyring = esdk.RawAesKeyring("memory", "test", os.urandom(32))
suite = esdk.AlgorithmSuite.from_id(suite_id)
read_fd, write_fd = os.pipe()
source, errors = Generated(), []

def produce():
    try:
        with open(write_fd, "wb") as pipe:
            esdk.encrypt_stream(source, pipe, keyring, algorithm=suite, frame_length=frame_length)
    except BaseException as exc:
        errors.append(exc)

thread = threading.Thread(target=produce)
thread.start()
check = Check()
with open(read_fd, "rb") as pipe:
    esdk.decrypt_stream(pipe, check, keyring, require_end=True)
thread.join()
assert not errors, errors
assert (check.length, check.crc) == (size, source.crc)
with open("/proc/self/status") as status:
    hwm = next(line for line in status if line.startswith("VmHWM:"))
print(json.dumps({"max_rss_kib": int(hwm.split()[1])}))
"""

LIMIT_MIB = 100


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc")
@pytest.mark.parametrize(
    ("size", "suite", "frame_length"),
    [(2 << 30, "0478", 65536), (2 << 30, "0578", 65536)],
    ids=["2GiB-0478-f64k", "2GiB-0578-f64k"],
)
def test_streaming_memory_stays_bounded(size: int, suite: str, frame_length: int) -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(size), suite, str(frame_length)],
        capture_output=True, text=True, timeout=280, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    peak_mib = json.loads(result.stdout)["max_rss_kib"] / 1024
    assert peak_mib < LIMIT_MIB, f"peak RSS {peak_mib:.1f} MiB"
