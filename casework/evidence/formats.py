"""A phone's multi-picture JPEG (MPO) read as the JPEG its first picture is.

Many phone cameras save photos as MPO (CIPA's Multi-Picture format): an ordinary JPEG whose APP2
"MPF" segment points to more pictures stored after it (a second view, a depth map, a preview).
Pillow then calls the file MPO, not JPEG, and `strip.strip_image` refused it as not an image.
Without its MPF segments the file opens as the plain JPEG of its first picture (the others are
bytes after its end that no decoder reads), and is stripped exactly as a JPEG is: EXIF, GPS, the
rest of the metadata and the other pictures never reach the re-encoded image.
"""

from __future__ import annotations

_SOI, _SOS, _EOI = 0xD8, 0xDA, 0xD9
_APP2 = 0xE2
_MPF = b"MPF\x00"
# Markers that stand alone, with no length after them.
_NO_LENGTH = frozenset({0x01, *range(0xD0, 0xD8)})


def first_picture(raw: bytes) -> bytes:
    """`raw` without its MPF segments if it is a JPEG that has some (an MPO); otherwise `raw` as it is.

    Only the segments before the image data are read (each one's length says where the next
    begins); a file that is not laid out as a JPEG is returned untouched, for the stripper to judge.
    """
    if len(raw) < 4 or raw[0] != 0xFF or raw[1] != _SOI:
        return raw
    kept: list[bytes] = [raw[:2]]
    position, dropped = 2, False
    while position + 4 <= len(raw):
        if raw[position] != 0xFF:
            return raw  # not a marker where one must be: not ours to mend
        marker = raw[position + 1]
        if marker == 0xFF:  # a fill byte before the marker
            kept.append(raw[position : position + 1])
            position += 1
            continue
        if marker in (_SOS, _EOI):
            break  # the image data begins: no segment after this can be an MPF header
        if marker in _NO_LENGTH:
            kept.append(raw[position : position + 2])
            position += 2
            continue
        end = position + 2 + int.from_bytes(raw[position + 2 : position + 4], "big")
        if end > len(raw):
            return raw
        if marker == _APP2 and raw[position + 4 : position + 8] == _MPF:
            dropped = True
        else:
            kept.append(raw[position:end])
        position = end
    if not dropped:
        return raw
    kept.append(raw[position:])
    return b"".join(kept)
