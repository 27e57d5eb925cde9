#!/usr/bin/python3
"""tests/manager/pageout.py MIB SECONDS: hold MIB MiB of anonymous memory,
pushed out to swap at once (madvise MADV_PAGEOUT), for SECONDS; prints
"ready" once the pages are out.  Each 4 KiB page is half random, half zero:
zram compresses it, and it is not same-filled (which zram stores as a word,
and which would make a swapoff too quick to measure anything).  The host
tests' way to fill a swap device without a memory cgroup."""
import mmap
import os
import sys
import time

MADV_PAGEOUT = 21                      # not in Python 3.11's mmap module

mib, seconds = int(sys.argv[1]), float(sys.argv[2])
m = mmap.mmap(-1, mib << 20, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
block = (os.urandom(2048) + bytes(2048)) * 256          # 1 MiB
for off in range(0, mib << 20, 1 << 20):
    m[off:off + (1 << 20)] = block
m.madvise(MADV_PAGEOUT)
print("ready", flush=True)
time.sleep(seconds)
