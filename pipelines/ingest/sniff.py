"""What a file is, told from its bytes (never its name): kind, content hash, size, a CSV's
encoding (UTF-8 unless the bytes show a legacy single-byte file) and line endings."""

from __future__ import annotations

import codecs
import hashlib
import re
from pathlib import Path

from pipelines.ingest.common import LEGACY_RATIO, Sniffed, UnusableFile


def sniff(path: Path) -> Sniffed:
    """Hash the file and tell what it is from its content (one streaming pass).

    A CSV's encoding is decided on evidence: UTF-8 when it decodes as UTF-8, or when it holds
    valid UTF-8 multi-byte characters and not many more invalid bytes (``LEGACY_RATIO``): the
    rows with the invalid bytes are then rejected, the rest is read as UTF-8, so ``Zoë`` stays
    ``Zoë``. Latin-1 only when the high bytes are consistently single-byte characters.
    """
    h = hashlib.sha256()
    size = 0
    head = b""
    tail = b""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    is_utf8 = True
    has_nul = False
    crlf = lf = cr = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            crlf += chunk.count(b"\r\n")
            lf += chunk.count(b"\n")
            cr += chunk.count(b"\r")
            tail = chunk[-4096:] if len(chunk) >= 4096 else (tail + chunk)[-4096:]
            h.update(chunk)
            if size == 0:
                head = chunk[:8192]
            size += len(chunk)
            if b"\x00" in chunk:
                has_nul = True
            if is_utf8:
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    is_utf8 = False
    if is_utf8:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            is_utf8 = False
    digest = h.hexdigest()
    if head.startswith(b"PK\x03\x04"):
        return Sniffed(path, "xlsx", digest, size)
    if head.startswith(b"PAR1"):
        return Sniffed(path, "parquet", digest, size)
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnusableFile(f"{path.name}: old binary Excel (.xls) is not supported; save it as .xlsx or CSV")
    if size == 0 or not head.strip(b" \t\r\n\xef\xbb\xbf"):
        raise UnusableFile(f"{path.name}: the file is empty")
    control = sum(1 for b in head if b < 9 or 13 < b < 32)
    if has_nul or control > len(head) * 0.01:
        raise UnusableFile(f"{path.name}: binary content, not a CSV, Excel or Parquet export")
    encoding, evidence = "utf-8", None
    if not is_utf8:
        evidence = _utf8_evidence(path)
        valid, invalid = evidence
        if valid == 0 or invalid > LEGACY_RATIO * valid:
            encoding = "latin-1"
    cr_only = lf == 0 and cr > 0
    return Sniffed(path, "csv", digest, size, encoding, 0 < crlf < lf, physical_lines(lf, tail),
                   cr_only, evidence)


def physical_lines(lf: int, tail: bytes) -> int:
    """Lines in a file with ``lf`` newlines ending in ``tail``, without its trailing blank lines."""
    parts = tail.split(b"\n")
    lines = lf + (1 if parts[-1] else 0)
    if not parts[-1]:
        parts.pop()
    while len(parts) > 1 and parts[-1] in (b"", b"\r"):
        parts.pop()
        lines -= 1
    return lines


_UTF8_CHAR = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}"
                        rb"|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}"
                        rb"|\xf4[\x80-\x8f][\x80-\xbf]{2}")


_HIGH = bytes(range(128, 256))


def _utf8_evidence(path: Path) -> tuple[int, int]:
    """(valid UTF-8 multi-byte characters, bytes >= 0x80 outside them) in the file."""
    valid = invalid = 0
    carry = b""
    with open(path, "rb") as fh:
        while True:
            chunk = fh.read(1 << 20)
            buf = carry + chunk
            cut = buf.rfind(b"\n") + 1 if chunk else len(buf)  # never split a character
            part, carry = (buf[:cut], buf[cut:]) if cut else (buf, b"")
            chars = _UTF8_CHAR.findall(part)
            valid += len(chars)
            invalid += len(part) - len(part.translate(None, _HIGH)) - sum(map(len, chars))
            if not chunk:
                return valid, invalid
