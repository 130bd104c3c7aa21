#!/usr/bin/env python3
# SPDX-License-Identifier: BSL-1.0
"""Checks how `srun -u` forwards a task's stdin and stdout when srun's fd 0 and fd 1 are the
same end of one Unix socketpair (and fd 2 a pipe), as mpdecor's Slurm launcher starts it.

Usage (against a running cluster, SLURM_CONF set): srun_socketpair_check.py [srun options...]

The task echoes length-prefixed frames (4-byte little-endian length, then the bytes, sent
back reversed) on its stdin/stdout until it reads a zero length, then exits. The parent
keeps its end of the socketpair open throughout, so every reply must arrive while stdin is
still open. Prints each round trip's time, whether srun exited once the task did, and what
srun wrote to stderr; exits non-zero on any mismatch.

Results with Debian 12's Slurm 22.05.8 (scripts/slurm-cluster.sh, two nodes on one machine):
- Binary data (every byte value, frames from 1 byte to 64 MiB) crosses both ways intact,
  and each reply arrives while stdin stays open: a socketpair end as srun's fd 0 and fd 1
  works as well as two pipes. srun exits 15-35 ms after its task does, with the parent's
  end still open, with the task's exit status.
- A frame of up to about 1000 bytes makes the round trip in 0.2-0.5 ms once the step runs.
  Anything longer costs about 44 ms more in each direction that carries it: srun and
  slurmstepd forward a stream in messages of at most 1024 bytes, each written on its own,
  on a TCP connection without TCP_NODELAY, so the message after the first waits for a
  delayed acknowledgement (Nagle). The first exchange on a new step is spared (TCP acks at
  once at the start of a connection); a long-lived task pays it on every large frame.
  If the receiver answers the start of a large frame with a small frame of its own, the
  acknowledgement rides on it and frames of a few KiB come back in 0.2 ms; from about
  64 KiB on the delay returns at the end of the transfer.
- 64 MiB each way takes about 1.5 s (about 45 MB/s per direction over loopback).
"""
import os
import socket
import struct
import subprocess
import sys
import threading
import time

TASK = r'''
import os, struct, sys
def read_exact(n):
    data = bytearray()
    while len(data) < n:
        chunk = os.read(0, n - len(data))
        if not chunk:
            sys.exit(3)
        data += chunk
    return bytes(data)
def write_all(data):
    view = memoryview(data)
    while view:
        view = view[os.write(1, view):]
while True:
    (size,) = struct.unpack("<I", read_exact(4))
    if size == 0:
        sys.stderr.write("task: done\n")
        sys.exit(0)
    write_all(struct.pack("<I", size) + read_exact(size)[::-1])
'''


def read_exact(sock, n):
    data = bytearray()
    while len(data) < n:
        chunk = sock.recv(min(n - len(data), 1 << 20))
        if not chunk:
            raise RuntimeError("EOF from srun after %d of %d bytes" % (len(data), n))
        data += chunk
    return bytes(data)


def exchange(sock, sizes):
    """Sends one frame of each size and checks its reply; returns the number of mismatches."""
    failures = 0
    all_bytes = bytes(range(256))
    for size in sizes:
        payload = (all_bytes * (size // 256 + 1))[:size]
        begin = time.monotonic()
        # Sent from another thread: the reply starts before a big request has fully gone
        # out, and both directions share one socket.
        sender = threading.Thread(target=sock.sendall, args=(struct.pack("<I", size) + payload,))
        sender.start()
        (reply_size,) = struct.unpack("<I", read_exact(sock, 4))
        reply = read_exact(sock, reply_size)
        sender.join()
        ok = reply_size == size and reply == payload[::-1]
        failures += not ok
        print("frame %9d bytes: round trip %8.2f ms %s"
              % (size, (time.monotonic() - begin) * 1e3, "ok" if ok else "MISMATCH"))
    return failures


def main():
    srun_options = sys.argv[1:]
    parent_end, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    started = time.monotonic()
    srun = subprocess.Popen(
        ["srun", "-u", "-n1", *srun_options, sys.executable, "-c", TASK],
        stdin=child_end, stdout=child_end, stderr=subprocess.PIPE)
    child_end.close()
    sizes = [1] + [1, 256, 4096, 65536, 1 << 20] * 3 + [64 << 20, 1]
    try:
        failures = exchange(parent_end, sizes)
        parent_end.sendall(struct.pack("<I", 0))
    except (OSError, RuntimeError) as error:
        srun.kill()
        srun.wait()
        print("exchange failed: %s; srun stderr: %r"
              % (error, srun.stderr.read().decode(errors="replace")))
        return 1
    quit_sent = time.monotonic()
    try:
        code = srun.wait(timeout=20)
        print("srun exited %.1f ms after the task was told to finish, status %d, "
              "parent end still open" % ((time.monotonic() - quit_sent) * 1e3, code))
    except subprocess.TimeoutExpired:
        print("srun did NOT exit within 20 s after its task finished")
        srun.kill()
        srun.wait()
        failures += 1
    print("whole step %.1f ms" % ((time.monotonic() - started) * 1e3))
    print("srun stderr: %r" % srun.stderr.read().decode(errors="replace"))
    parent_end.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
