"""A minimal PNG reader (8-bit grey, RGB or RGBA, not interlaced): enough to measure a
screenshot's pixels without adding an imaging library to the project."""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # colour type -> samples per pixel


@dataclass(frozen=True)
class Image:
    width: int
    height: int
    pixels: np.ndarray  # height x width x channels, uint8


def _paeth(a: int, b: int, c: int) -> int:
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read_png(data: bytes) -> Image:
    if not data.startswith(SIGNATURE):
        raise ValueError("not a PNG file (bad signature)")
    offset, header, chunks = len(SIGNATURE), None, []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        offset += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError("PNG without IHDR")
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in CHANNELS or interlace:
        raise ValueError(
            f"unsupported PNG: depth {depth}, colour type {colour}, interlace {interlace}"
        )
    bpp = CHANNELS[colour]
    stride = width * bpp
    raw = zlib.decompress(b"".join(chunks))
    out = np.zeros((height, stride), dtype=np.uint8)
    previous = np.zeros(stride, dtype=np.int32)
    for y in range(height):
        start = y * (stride + 1)
        kind = raw[start]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=start + 1).astype(np.int32)
        if kind == 0:
            row = line
        elif kind == 2:
            row = (line + previous) & 0xFF
        elif kind in (1, 3, 4):
            # Left-dependent filters: sequential along the row.
            row = line.copy()
            for x in range(stride):
                left = row[x - bpp] if x >= bpp else 0
                up = previous[x]
                if kind == 1:
                    row[x] = (row[x] + left) & 0xFF
                elif kind == 3:
                    row[x] = (row[x] + ((left + up) >> 1)) & 0xFF
                else:
                    upper_left = previous[x - bpp] if x >= bpp else 0
                    row[x] = (row[x] + _paeth(int(left), int(up), int(upper_left))) & 0xFF
        else:
            raise ValueError(f"bad PNG filter {kind} on row {y}")
        out[y] = row
        previous = row
    return Image(width, height, out.reshape(height, width, bpp))


def luminance_stats(image: Image) -> tuple[float, float]:
    """(standard deviation of the luminance, share of pixels that are not near-white)."""
    rgb = image.pixels[..., :3].astype(np.float64)
    grey = rgb[..., 0] if rgb.shape[-1] == 1 else rgb @ np.array([0.2126, 0.7152, 0.0722])
    return float(grey.std()), float((grey < 235).mean())
