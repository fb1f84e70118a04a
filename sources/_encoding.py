"""Content-Encoding, undone a bounded piece at a time: a few compressed bytes cannot become gigabytes
in memory before the size limit is checked (httpx decodes a whole network chunk at once)."""

from __future__ import annotations

import zlib

import brotli

# What newswatch asks for, and so the only encodings it undoes.
ACCEPT_ENCODING = "gzip, deflate, br"


class EncodingError(Exception):
    """The body is not what its Content-Encoding says, or uses one newswatch does not read."""


class _Zlib:
    def __init__(self, wbits: int):
        self._wbits = wbits
        self._inflate = zlib.decompressobj(wbits)
        self._started = False

    def pieces(self, data: bytes, limit: int):
        while data:
            try:
                piece = self._inflate.decompress(data, limit)
            except zlib.error as exc:
                if self._wbits == zlib.MAX_WBITS and not self._started:  # "deflate" sent without its zlib header
                    self._wbits, self._inflate = -zlib.MAX_WBITS, zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise EncodingError(f"broken compressed body ({exc})") from None
            self._started = True
            yield piece
            data = self._inflate.unconsumed_tail
            if self._inflate.eof and self._inflate.unused_data:  # a gzip body of several members
                data, self._inflate = self._inflate.unused_data, zlib.decompressobj(self._wbits)

    def finished(self) -> bool:
        return self._inflate.eof


class _Brotli:
    def __init__(self):
        self._decompressor = brotli.Decompressor()

    def pieces(self, data: bytes, limit: int):
        try:
            yield self._decompressor.process(data, output_buffer_limit=limit)
            while not self._decompressor.can_accept_more_data():
                yield self._decompressor.process(b"", output_buffer_limit=limit)
        except brotli.error as exc:
            raise EncodingError(f"broken compressed body ({exc})") from None

    def finished(self) -> bool:
        return self._decompressor.is_finished()


def _decoder(name: str):
    if name in ("gzip", "x-gzip"):
        return _Zlib(zlib.MAX_WBITS | 16)
    if name == "deflate":
        return _Zlib(zlib.MAX_WBITS)
    if name == "br":
        return _Brotli()
    raise EncodingError(f"unsupported Content-Encoding {name!r}")


class BoundedDecoder:
    """Undo a Content-Encoding header's encodings, in reverse of the order applied, yielding pieces of
    at most ``piece_size`` bytes as they are produced."""

    def __init__(self, content_encoding: str, piece_size: int = 65536):
        names = [n.strip().lower() for n in content_encoding.split(",") if n.strip()]
        self._decoders = [_decoder(n) for n in reversed(names) if n != "identity"]
        self._piece_size = piece_size
        self._fed = False

    def decode(self, chunk: bytes):
        self._fed = self._fed or bool(chunk)
        yield from self._through(chunk, 0)

    def finish(self) -> None:
        """Raise EncodingError when the body ended before its compressed stream did (an empty body
        is empty, whatever its header says)."""
        if self._fed and not all(decoder.finished() for decoder in self._decoders):
            raise EncodingError("truncated compressed body")

    def _through(self, data: bytes, level: int):
        if level == len(self._decoders):
            if data:
                yield data
            return
        for piece in self._decoders[level].pieces(data, self._piece_size):
            yield from self._through(piece, level + 1)
