"""PinSketch set reconciliation over GF(2^16), in pure Python (sans-IO, no state).

A sketch of capacity ``c`` of a set of nonzero 16-bit elements is its ``c`` odd power
sums ``s_1, s_3, ..., s_{2c-1}`` in GF(2^16): exactly 2c bytes, and the sketch of
capacity c is a prefix of the one of capacity c' > c.  XOR of two sketches is the
sketch of the symmetric difference; Berlekamp-Massey over the syndromes gives its
locator polynomial, which always decodes when the difference has at most c elements
(research/peers.md 4.2, the minisketch README).  We never search all 65,535 field
elements for roots: each side only asks which of *its own* elements are roots, and
checks that the locator splits into distinct roots (it divides x^(2^16) - x), which
is how a difference larger than c is recognised.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

FIELD_BITS = 16
ORDER = (1 << FIELD_BITS) - 1  # size of the multiplicative group
# x^16 + x^12 + x^3 + x + 1, a primitive polynomial for GF(2^16) (checked at import:
# the generator below must cycle through all 65,535 nonzero elements).
_POLY = 0x1100B


def _tables() -> tuple[list[int], list[int]]:
    exp = [0] * (2 * ORDER)
    log = [0] * (ORDER + 1)
    x = 1
    for i in range(ORDER):
        exp[i] = x
        log[x] = i
        x <<= 1
        if x & 0x10000:
            x ^= _POLY
    if x != 1 or len(set(exp[:ORDER])) != ORDER:
        raise AssertionError("GF(2^16) polynomial is not primitive")
    for i in range(ORDER, 2 * ORDER):
        exp[i] = exp[i - ORDER]
    return exp, log


EXP, LOG = _tables()


def mul(a: int, b: int) -> int:
    if a == 0 or b == 0:
        return 0
    return EXP[LOG[a] + LOG[b]]


def inv(a: int) -> int:
    if a == 0:
        raise ZeroDivisionError("0 has no inverse in GF(2^16)")
    return EXP[ORDER - LOG[a]]


def sketch(elements: Iterable[int], capacity: int) -> list[int]:
    """The odd power sums s_1, s_3, ..., s_{2c-1} of the (nonzero) elements."""
    sums = [0] * capacity
    exp, log = EXP, LOG
    for x in elements:
        if not 0 < x <= 0xFFFF:
            raise ValueError(f"sketch element {x} is not a nonzero 16-bit value")
        lx = log[x]
        step = (2 * lx) % ORDER
        power = lx  # log of x^(2i+1)
        for i in range(capacity):
            sums[i] ^= exp[power]
            power += step
            if power >= ORDER:
                power -= ORDER
    return sums


def combine(a: Sequence[int], b: Sequence[int]) -> list[int]:
    """The sketch of the symmetric difference (both of the same capacity)."""
    return [x ^ y for x, y in zip(a, b, strict=True)]


def locator(odd_sums: Sequence[int]) -> list[int] | None:
    """Berlekamp-Massey: the connection polynomial (low degree first, [0] == 1).

    Returns None when the syndromes cannot come from a set of at most c elements.
    """
    c = len(odd_sums)
    syn = [0] * (2 * c)  # syn[j] = s_{j+1}
    for i, s in enumerate(odd_sums):
        syn[2 * i] = s
    for j in range(1, 2 * c, 2):  # s_{2k} = s_k^2 in characteristic 2
        half = syn[(j + 1) // 2 - 1]
        syn[j] = mul(half, half)
    current = [1]
    previous = [1]
    length = 0
    shift = 1
    prev_disc = 1
    for n in range(2 * c):
        disc = syn[n]
        for i in range(1, length + 1):
            if i < len(current) and current[i]:
                disc ^= mul(current[i], syn[n - i])
        if disc == 0:
            shift += 1
            continue
        factor = mul(disc, inv(prev_disc))
        update = [0] * shift + [mul(factor, p) for p in previous]
        new = current + [0] * max(0, len(update) - len(current))
        for i, u in enumerate(update):
            new[i] ^= u
        if 2 * length <= n:
            previous, prev_disc, length, shift = current, disc, n + 1 - length, 1
        else:
            shift += 1
        current = new
    while len(current) > 1 and current[-1] == 0:
        current.pop()
    if len(current) - 1 != length or length > c:
        return None
    return current


def _polymod(a: list[int], m: list[int]) -> list[int]:
    """a mod m for monic m (both low degree first)."""
    a = a[:]
    dm = len(m) - 1
    for i in range(len(a) - 1, dm - 1, -1):
        coef = a[i]
        if coef:
            lc = LOG[coef]
            base = i - dm
            for j in range(dm):
                mj = m[j]
                if mj:
                    a[base + j] ^= EXP[lc + LOG[mj]]
            a[i] = 0
    return a[:dm] if dm else [0]


def splits(loc: Sequence[int]) -> bool:
    """True when the locator has deg-many distinct nonzero roots in GF(2^16).

    The reversed polynomial R(x) = prod (x - x_i) must divide x^(2^16) - x.
    """
    degree = len(loc) - 1
    if degree == 0:
        return True
    if loc[0] != 1 or loc[-1] == 0:
        return False
    # R is the reverse of loc, made monic.
    rev = list(reversed(loc))
    lead_inv = inv(rev[-1])
    monic = [mul(x, lead_inv) for x in rev]
    power = _polymod([0, 1], monic)  # x mod R
    for _ in range(FIELD_BITS):
        squared = [0] * (2 * len(power) - 1)
        for i, coef in enumerate(power):
            if coef:
                squared[2 * i] = mul(coef, coef)
        power = _polymod(squared, monic)
    x_mod = _polymod([0, 1], monic)
    width = max(len(power), len(x_mod))
    power += [0] * (width - len(power))
    x_mod += [0] * (width - len(x_mod))
    return power == x_mod


def is_member(loc: Sequence[int], element: int) -> bool:
    """Whether ``element`` is in the difference the locator describes: loc(1/x) == 0."""
    if element == 0:
        return False
    x = inv(element)
    lx = LOG[x]
    acc = 0
    for coef in reversed(loc):  # Horner
        acc = (EXP[LOG[acc] + lx] if acc else 0) ^ coef
    return acc == 0


def decode_members(odd_sums: Sequence[int], candidates: Iterable[int]) -> tuple[int, set[int]] | None:
    """(size of the difference, which candidates are in it), or None if it does not decode."""
    loc = locator(odd_sums)
    if loc is None or not splits(loc):
        return None
    return len(loc) - 1, {x for x in set(candidates) if is_member(loc, x)}
