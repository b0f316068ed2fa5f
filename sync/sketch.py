"""PinSketch set reconciliation over GF(2^16), in pure Python (sans-IO, no state).

A sketch of capacity ``c`` of a set of nonzero 16-bit elements is its ``c`` odd power
sums ``s_1, s_3, ..., s_{2c-1}`` in GF(2^16): exactly 2c bytes, and the sketch of
capacity c is a prefix of the one of capacity c' > c.  XOR of two sketches is the
sketch of the symmetric difference; Berlekamp-Massey over the syndromes gives its
locator polynomial, which always decodes when the difference has at most c elements
(docs/research/peers.md 4.2, the minisketch README).  We never search all 65,535 field
elements for roots: each side only asks which of *its own* elements are roots, and
checks that the locator splits into distinct roots (it divides x^(2^16) - x), which
is how a difference larger than c is recognised.

The costly functions come in two forms: ``*_steps`` generators that yield the work done
(field multiplications, roughly) as they go and return the result, and plain functions
that run them to the end (:func:`run`).  A sync session drives the generators in slices
of bounded work, so decoding a hostile 2 KB sketch never holds its node for long
(sync/session.py, issue 13).
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")
Steps = Generator[int, None, T]  # yields units of work done, returns the result


def run(steps: Steps[T]) -> T:
    """Run a ``*_steps`` generator to its end and return its result."""
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

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
    return berlekamp_massey(syn)


def berlekamp_massey(syn: Sequence[int]) -> list[int] | None:
    """The shortest connection polynomial of the syndromes s_1..s_n (low degree first).

    None when it is longer than n/2: then no set of at most n/2 positions explains them.
    """
    return run(berlekamp_massey_steps(syn))


def berlekamp_massey_steps(syn: Sequence[int]) -> Steps[list[int] | None]:
    current = [1]
    previous = [1]
    length = 0
    shift = 1
    prev_disc = 1
    for n in range(len(syn)):
        yield 1 + 2 * length
        disc = syn[n]
        for i in range(1, min(length, len(current) - 1) + 1):
            if current[i]:
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
    if len(current) - 1 != length or 2 * length > len(syn):
        return None
    return current


# --- weighted sketches: positions with values (Reed-Solomon syndromes) ---------------
#
# A version vector {author: value} as S_j = sum v * a^j, j = 1..2k, where a is the
# author's position in GF(2^16)*.  XOR of two such sketches is the sketch of the
# per-author XOR of values; with 2k syndromes it decodes any k differing authors,
# *and their values* (Forney), i.e. 4 bytes per author with news.


def weighted_sketch(pairs: Iterable[tuple[int, int]], count: int) -> list[int]:
    """S_1..S_count of the (position, value) pairs; positions nonzero, values 16-bit."""
    return run(weighted_sketch_steps(pairs, count))


def weighted_sketch_steps(pairs: Iterable[tuple[int, int]], count: int) -> Steps[list[int]]:
    sums = [0] * count
    exp, log = EXP, LOG
    for pos, value in pairs:
        if not 0 < pos <= 0xFFFF or not 0 <= value <= 0xFFFF:
            raise ValueError("weighted sketch needs a nonzero position and a 16-bit value")
        if value == 0:
            continue
        yield count
        lp, lv = log[pos], log[value]
        power = (lp + lv) % ORDER
        for i in range(count):
            sums[i] ^= exp[power]
            power += lp
            if power >= ORDER:
                power -= ORDER
    return sums


def evaluate(poly: Sequence[int], x: int) -> int:
    """poly(x), low degree first (Horner)."""
    acc = 0
    if x == 0:
        return poly[0] if poly else 0
    lx = LOG[x]
    for coef in reversed(poly):
        acc = (EXP[LOG[acc] + lx] if acc else 0) ^ coef
    return acc


@dataclass(frozen=True)
class WeightedDecode:
    locator: list[int]
    values: dict[int, int]  # own candidate position -> XOR of the two values there

    @property
    def size(self) -> int:
        return len(self.locator) - 1


def decode_weighted(syn: Sequence[int], candidates: Iterable[int]) -> WeightedDecode | None:
    """Which candidate positions differ and by what (XOR of values); None if it does not decode."""
    return run(decode_weighted_steps(syn, candidates))


def decode_weighted_steps(syn: Sequence[int], candidates: Iterable[int]) -> Steps[WeightedDecode | None]:
    loc = yield from berlekamp_massey_steps(syn)
    if loc is None:
        return None
    if not (yield from splits_steps(loc)):
        return None
    n = len(syn)
    # Omega(z) = S(z) * Lambda(z) mod z^n, with S(z) = sum S_{j+1} z^j
    omega = [0] * n
    for i, li in enumerate(loc):
        yield n - i
        if li:
            for j in range(n - i):
                if syn[j]:
                    omega[i + j] ^= mul(li, syn[j])
    deriv = [loc[i] if i % 2 == 1 else 0 for i in range(1, len(loc))]  # formal derivative in char 2
    values: dict[int, int] = {}
    for pos in set(candidates):
        if pos == 0:
            continue
        yield len(loc)
        x_inv = inv(pos)
        if evaluate(loc, x_inv) != 0:
            continue
        d = evaluate(deriv, x_inv)
        if d == 0:
            return None
        values[pos] = mul(evaluate(omega, x_inv), inv(d))
    return WeightedDecode(loc, values)


def divide_out(loc: Sequence[int], positions: Iterable[int]) -> list[int]:
    """The locator with the factors (1 - a z) of these positions removed (exact division)."""
    poly = list(loc)
    for pos in positions:
        # synthetic division by (1 - pos z): q_0 = p_0, q_i = p_i + pos * q_{i-1}
        out = [0] * (len(poly) - 1)
        carry = 0
        for i in range(len(poly) - 1):
            carry = poly[i] ^ mul(pos, carry)
            out[i] = carry
        poly = out
    return poly or [1]


def _polymod(a: list[int], m: list[int]) -> Steps[list[int]]:
    """a mod m for monic m (both low degree first)."""
    a = a[:]
    dm = len(m) - 1
    for i in range(len(a) - 1, dm - 1, -1):
        yield dm
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
    return run(splits_steps(loc))


def splits_steps(loc: Sequence[int]) -> Steps[bool]:
    degree = len(loc) - 1
    if degree == 0:
        return True
    if loc[0] != 1 or loc[-1] == 0:
        return False
    # R is the reverse of loc, made monic.
    rev = list(reversed(loc))
    lead_inv = inv(rev[-1])
    monic = [mul(x, lead_inv) for x in rev]
    power = yield from _polymod([0, 1], monic)  # x mod R
    for _ in range(FIELD_BITS):
        squared = [0] * (2 * len(power) - 1)
        yield len(power)
        for i, coef in enumerate(power):
            if coef:
                squared[2 * i] = mul(coef, coef)
        power = yield from _polymod(squared, monic)
    x_mod = yield from _polymod([0, 1], monic)
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
    if loc is None or not run(splits_steps(loc)):
        return None
    return len(loc) - 1, {x for x in set(candidates) if is_member(loc, x)}
