#!/usr/bin/env python3
"""Writes a device image as the btrfs fuzz target's block map (see fuzz_btrfs.cc): a u16 count,
the device block numbers (u16, 4 KiB blocks) of the blocks that are not all zeros, then those
blocks. The last block of an image that ends mid-block is kept short.

    block_map.py IMAGE OUTPUT
"""
import struct
import sys

BLOCK = 4096
DEVICE_BLOCKS = 8192  # the target's 32 MiB device


def block_map(image: bytes) -> bytes:
    numbers, blocks = [], []
    for number in range(0, min(len(image) // BLOCK + 1, DEVICE_BLOCKS)):
        block = image[number * BLOCK:(number + 1) * BLOCK]
        if block.strip(b"\0"):
            numbers.append(number)
            blocks.append(block)
    if len(numbers) > 0xFFFF:
        raise ValueError("more blocks than a u16 counts")
    # Only the last block may be short: a short one before it would shift the ones after.
    blocks = [b.ljust(BLOCK, b"\0") for b in blocks[:-1]] + blocks[-1:]
    return struct.pack(f"<H{len(numbers)}H", len(numbers), *numbers) + b"".join(blocks)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: block_map.py IMAGE OUTPUT")
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    if len(data) > DEVICE_BLOCKS * BLOCK and data[DEVICE_BLOCKS * BLOCK:].strip(b"\0"):
        sys.exit(f"{sys.argv[1]}: data past the target's {DEVICE_BLOCKS * BLOCK >> 20} MiB device")
    with open(sys.argv[2], "wb") as f:
        f.write(block_map(data))
