#!/usr/bin/env python3
"""Runs a command (stdout discarded) and prints `WALL_SECONDS BYTES_READ EXIT_STATUS`.

BYTES_READ is the kernel's `rchar` for the process: every byte it read through read(2) and
friends, from the page cache or the disk (bench/incremental.sh). It is taken from /proc/PID/io
after the process exits and before it is reaped, so nothing it read is missed.
"""
import os
import subprocess
import sys
import time

start = time.monotonic()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
wall = time.monotonic() - start
with open(f"/proc/{child.pid}/io") as f:
    io = dict(line.split(": ") for line in f.read().splitlines() if line)
status = child.wait()
print(f"{wall:.3f} {int(io['rchar'])} {status}")
