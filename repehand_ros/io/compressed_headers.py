"""What a compressed image declares about itself, read from its header without decoding it.

A JPEG or PNG names its size in its first bytes; OpenCV decodes whatever size
that is (a 56 KB JPEG claiming 20000 x 20000 pixels costs 2.3 GB), so the size
is read here first. Only JPEG and PNG are accepted, the formats of
image_transport's compressed plugin: any other magic bytes are refused by name,
so there is no other decoder to bound.

PNG (ISO/IEC 15948): the 8-byte signature, then the IHDR chunk (length 13,
"IHDR", width and height as big-endian uint32, ...; CRC-32 of type and data),
and chunks up to the first IDAT must fit in the data. JPEG (ITU-T T.81): SOI
(FF D8), then marker segments (FF xx, big-endian length including itself) up
to the first frame header SOFn (C0-CF but DHT C4, JPG C8, DAC CC), whose data
are precision, height, width; fill bytes (FF FF ...) and markers without a
length (TEM, RST0-7) are skipped as libjpeg skips them.
"""

from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass


class CompressedHeaderError(ValueError):
    """Compressed image data whose header is not a JPEG's or a PNG's, or is broken."""


ACCEPTED_COMPRESSION = "only JPEG and PNG are accepted: image_transport's compressed formats"


@dataclass(frozen=True)
class CompressedHeader:
    """What a compressed image's header declares, read without decoding anything."""

    format: str
    """"jpeg" or "png", as image_transport names them."""
    width: int
    height: int


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_JPEG_SIGNATURE = b"\xff\xd8\xff"
"""Start of image, then the first marker: what OpenCV's JPEG decoder recognises."""

# Markers without a length (T.81 B.1.1.3): TEM and RST0-7. SOI, EOI and SOS end the search.
_JPEG_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})
# SOF0-SOF15 share C0-CF with DHT (C4), JPG (C8) and DAC (CC).
_JPEG_FRAME_HEADERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}

# Formats cv2.imdecode also reads, named so that a refusal says what was sent.
_OTHER_FORMATS = (
    (re.compile(rb"BM"), "BMP"),
    (re.compile(rb"II\*\x00|MM\x00\*"), "TIFF"),
    (re.compile(rb"RIFF.{4}WEBP", re.DOTALL), "WebP"),
    (re.compile(rb"GIF8[79]a"), "GIF"),
    (re.compile(rb"\x00\x00\x00\x0cjP  |\xff\x4f\xff\x51"), "JPEG 2000"),
    (re.compile(rb".{4}ftypavi[fs]", re.DOTALL), "AVIF"),
    (re.compile(rb"\xff\x0a|\x00\x00\x00\x0cJXL "), "JPEG XL"),
    (re.compile(rb"P[1-7]\s"), "PNM"),
    (re.compile(rb"P[fF]\s"), "PFM"),
    (re.compile(rb"\x59\xa6\x6a\x95"), "Sun raster"),
    (re.compile(rb"#\?(RADIANCE|RGBE)"), "Radiance HDR"),
    (re.compile(rb"v/1\x01"), "OpenEXR"),
)


def read_compressed_header(data: bytes) -> CompressedHeader:
    """The format and declared size of JPEG or PNG bytes, from the header alone.

    The format is recognised by its magic bytes, as cv2.imdecode chooses its decoder,
    never by the message's format string. Raises ImageConversionError for any other
    format and for a header that is malformed or cut short.
    """
    if data.startswith(_PNG_SIGNATURE):
        return _png_header(data)
    if data.startswith(_JPEG_SIGNATURE):
        return _jpeg_header(data)
    for magic, name in _OTHER_FORMATS:
        if magic.match(data):
            raise CompressedHeaderError(f"the data is {name}; {ACCEPTED_COMPRESSION}")
    raise CompressedHeaderError(
        f"the data starts with bytes {data[:8].hex(' ')}, neither JPEG nor PNG; "
        f"{ACCEPTED_COMPRESSION}"
    )


def _png_header(data: bytes) -> CompressedHeader:
    """Width and height from IHDR, once the chunks before the image data are whole.

    Layout (PNG spec, 5.3 and 11.2.2): the 8-byte signature, then chunks of length
    (4 bytes, big-endian, data only), type (4), data, and a CRC-32 of type and data.
    IHDR comes first and holds 13 bytes: width (4), height (4), bit depth, colour
    type, compression, filter and interlace methods. An acTL chunk before the first
    IDAT makes the file an animated PNG, whose frames OpenCV allocates from their
    own fcTL sizes: refused, a camera sends single frames.
    """
    position = len(_PNG_SIGNATURE)
    header: CompressedHeader | None = None
    while position + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, position)
        if header is not None and kind == b"IDAT":
            return header
        end = position + 12 + length
        if end > len(data):
            raise CompressedHeaderError(
                f"PNG chunk {kind!r} of {length} bytes runs past the end of the data"
            )
        if header is None:
            if kind != b"IHDR" or length != 13:
                raise CompressedHeaderError(
                    f"PNG must start with a 13-byte IHDR chunk, not {kind!r} of {length} bytes"
                )
            (crc,) = struct.unpack_from(">I", data, end - 4)
            if zlib.crc32(data[position + 4 : end - 4]) != crc:
                raise CompressedHeaderError("PNG IHDR chunk fails its CRC: corrupt header")
            width, height = struct.unpack_from(">II", data, position + 8)
            header = CompressedHeader("png", width, height)
        elif kind == b"acTL":
            raise CompressedHeaderError("animated PNG (acTL chunk); a camera frame is one image")
        elif kind == b"IEND":
            raise CompressedHeaderError("PNG ends (IEND) before any image data (IDAT)")
        position = end
    raise CompressedHeaderError("PNG data ends before its image data (IDAT)")


def _jpeg_header(data: bytes) -> CompressedHeader:
    """Width and height from the first frame header (SOFn), found where libjpeg finds it.

    Layout (ITU-T T.81, B.1 and B.2): SOI (FF D8), then markers FF xx. All but the
    standalone ones are followed by a big-endian length that counts itself and the
    segment's bytes (APPn, COM, DQT, DHT, ...). A frame header holds length (2),
    precision (1), height (2), width (2), then the components. Any other segments
    may come first; the scan (SOS) only after it.
    """
    position = 2  # just past SOI
    while True:
        marker, position = _next_jpeg_marker(data, position)
        if marker in _JPEG_STANDALONE:
            continue
        if marker == 0xD8:
            raise CompressedHeaderError("JPEG has a second start of image (SOI) before its frame")
        if marker == 0xD9:
            raise CompressedHeaderError("JPEG ends (EOI) before its frame header (SOF)")
        if marker == 0xDA:
            raise CompressedHeaderError("JPEG scan (SOS) comes before its frame header (SOF)")
        if position + 2 > len(data):
            break
        (length,) = struct.unpack_from(">H", data, position)
        if length < 2:
            raise CompressedHeaderError(
                f"JPEG segment FF {marker:02X} has length {length}, less than its own 2 bytes"
            )
        if marker in _JPEG_FRAME_HEADERS:
            if length < 8 or position + length > len(data):
                raise CompressedHeaderError(
                    f"JPEG frame header (FF {marker:02X}) is truncated: length {length}, "
                    f"{len(data) - position} bytes left"
                )
            height, width = struct.unpack_from(">HH", data, position + 3)
            return CompressedHeader("jpeg", width, height)
        position += length
    raise CompressedHeaderError("JPEG data ends before its frame header (SOF)")


def _next_jpeg_marker(data: bytes, position: int) -> tuple[int, int]:
    """The next marker code at or after `position`, and the position just past it.

    As libjpeg's next_marker does, skips bytes other than FF, fill FFs, and FF 00
    pairs, so that this reader and the decoder reach the same frame header.
    """
    while (position := data.find(b"\xff", position)) >= 0:
        while position < len(data) and data[position] == 0xFF:
            position += 1
        if position == len(data):
            break
        marker = data[position]
        position += 1
        if marker:
            return marker, position
    raise CompressedHeaderError("JPEG data ends before its frame header (SOF)")
