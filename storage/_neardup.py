"""Near-duplicate detection: MinHash signatures over word 5-grams, LSH band keys for candidates.

Chosen by measurement on syndicated variants of real articles (benchmarks/dedup.py): copies with
the first or last paragraph dropped, words edited and an "Updated" line keep a 5-gram Jaccard of
0.42 or more and a containment of 0.8 or more; distinct articles stay under 0.08 and 0.15.
40 bands of 3 rows make a pair at Jaccard 0.42 a candidate with probability 0.95 (0.995 at 0.5).
"""

from __future__ import annotations

import hashlib
import re
import struct
from array import array
from operator import eq

from rensa import RMinHash

SHINGLE_WORDS = 5
BANDS, ROWS = 40, 3
NUM_PERM = BANDS * ROWS
SEED = 1
# Signatures made under another scheme cannot be compared with these; a store holding such
# signatures rebuilds its index from the stored texts when it is opened for writing (Store).
SCHEME = f"rensa R-MinHash v{RMinHash.ALGORITHM_VERSION}, {NUM_PERM} permutations, seed {SEED}"
# Texts shorter than this many shingles (~45 words) only match by URL or exact text.
MIN_SHINGLES = 40
# A candidate whose signatures agree on fewer positions than this is not looked at further.
CANDIDATE_JACCARD = 0.25
# The same story: this share of the shorter text's shingles appear in the other.
SAME_STORY_CONTAINMENT = 0.5


def shingles(text: str) -> set[bytes]:
    words = re.findall(r"\w+", text.casefold())
    return {" ".join(words[i:i + SHINGLE_WORDS]).encode() for i in range(len(words) - SHINGLE_WORDS + 1)}


def signature(shingle_set: set[bytes]) -> bytes:
    """The MinHash signature, packed as NUM_PERM unsigned 32-bit values."""
    minhash = RMinHash(num_perm=NUM_PERM, seed=SEED)
    minhash.update(list(shingle_set))
    return array("I", minhash.digest()).tobytes()


def band_keys(packed: bytes) -> list[int]:
    """One signed 64-bit key per band: a hash of the band's number and its rows."""
    keys = []
    for band in range(BANDS):
        digest = hashlib.blake2b(packed[band * ROWS * 4:(band + 1) * ROWS * 4], digest_size=8,
                                 salt=band.to_bytes(2, "big")).digest()
        keys.append(struct.unpack(">q", digest)[0])
    return keys


def estimated_jaccard(a: bytes, b: bytes) -> float:
    return sum(map(eq, array("I", a), array("I", b))) / NUM_PERM


def containment(a: set[bytes], b: set[bytes]) -> float:
    return len(a & b) / min(len(a), len(b)) if a and b else 0.0
