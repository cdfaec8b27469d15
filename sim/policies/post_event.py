"""The rules allocated once, when a pool's window closes, over every eligible gift of the
window (``post_event``; matching-evidence.md section 2), and the allocation that turns
their claims into whole fen.

- ``breadth``: by the number of distinct donors of each project;
- ``pro_rata``: bonus per yuan = pool / eligible total, at most ``org_cap_share`` of the pool
  to one organisation (North Texas Giving Day, GlobalGiving bonus days);
- ``threshold_prizes``: shares of the pool split equally among projects reaching a number
  of distinct donors;
- ``quadratic``: capital-constrained quadratic funding (Buterin, Hitzig & Weyl 2019),
  project p gets alpha x S_p, S_p = (sum_i sqrt c_ip)^2 - sum_i c_ip, alpha =
  min(1, B / sum S); ``qf_variant=proportional`` splits B in proportion to (sum sqrt c)^2;
- ``pairwise_quadratic``: each donor pair's term 2 sqrt(c_i c_j) scaled by
  M / (M + sqrt(c_i c_j)) (Buterin 2019), bounding what colluding pairs extract.

The engine collects a window's eligible gifts (:mod:`sim.model.post_windows`);
:func:`window_stats` sums them by (donor, project) pair, the rule gives each project's claim,
and :func:`allocate` pays whole fen:

- claims that are amounts (quadratic funding's subsidies) are paid at
  alpha = min(1, B / sum of claims); claims that are weights split the whole pool;
- equity weights (``equity_region`` / ``equity_small_org``) multiply the claims, a
  ``project_cap_yuan`` caps what one project gets (the rest stays in the pool), frozen
  projects get nothing;
- fen are floored and the remainder handed out by largest remainder (ties by project), so
  the pool pays exactly the rounded total and never more than it holds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from numba.typed import List

from sim.codes import FLAG_JOINT_APPEAL, FLAG_LESS_DEVELOPED, FLAG_SMALL_ORG, MODE_POST, F, fen
from sim.policies.base import MatchRule
from sim.schema import ConfigError, RuleConfig


@dataclass
class WindowSoFar:
    """A window's eligible gifts so far, by project, projected to the window's end (what
    a platform can publish while the window runs): gifts, yuan, and the sum of the square
    roots of the gifts in yuan (each gift taken as a donor of its own)."""

    gifts: np.ndarray  # float64 a project
    yuan: np.ndarray  # float64
    sum_sqrt: np.ndarray  # float64


@dataclass
class WindowStats:
    """A window's eligible gifts summed by (donor, project) pair, and by project."""

    pair_donor: np.ndarray  # int64
    pair_project: np.ndarray  # int64
    pair_c: np.ndarray  # float64 yuan the donor gave the project
    pair_kind: np.ndarray  # int8 the donor's kind (gaming identities > 0)
    n_donors: np.ndarray  # int64 distinct donors a project
    sum_c: np.ndarray  # float64 yuan a project
    sum_sqrt: np.ndarray  # float64 sum over its donors of sqrt(c)
    org: np.ndarray  # int32 organisation of each project
    n_orgs: int


RADIX_BITS = 11  # a digit of radix_order: 2,048 buckets, counts in the core's own cache


@njit(cache=True, nogil=True)
def _radix(key):
    """(the keys sorted, the order that sorts them): see :func:`radix_order`."""
    n = key.shape[0]
    top = key.max() if n else np.int64(0)
    return _sort_bits(key.copy(), 0, _bit_length(top), np.arange(n))


@njit(cache=True, nogil=True)
def radix_order(key):
    """The order that sorts ``key`` (non-negative int64), stably: a least-significant-digit
    radix sort (:func:`_sort_bits`), as many passes of at most :data:`RADIX_BITS` bits as
    the largest key needs.
    Where ``np.argsort`` compares (n log n: 3.7 s for 2,000万 keys, measured 2026-12-06),
    this reads and writes every key once a pass (4 passes for the 39-bit keys of a
    full-scale window)."""
    return _radix(key)[1]


@njit(cache=True, nogil=True)
def _sum_runs(v, a_bits, unit, fen, order, n_projects):
    """Gifts sorted by pair key summed by pair, in one pass: each pair's donor, project and
    yuan. ``v``: the sorted words, the key above ``a_bits`` bits of amount (in ``unit``
    fen) where ``order`` is empty, else the sorted keys (``a_bits`` 0) with ``order`` into
    the gifts' amounts in fen ``fen``."""
    n = v.shape[0]
    packed = order.shape[0] == 0
    a_mask = (np.int64(1) << a_bits) - 1
    n_pairs = 0
    for i in range(n):
        if i == 0 or (v[i] >> a_bits) != (v[i - 1] >> a_bits):
            n_pairs += 1
    pair_donor = np.empty(n_pairs, dtype=np.int64)
    pair_project = np.empty(n_pairs, dtype=np.int64)
    pair_c = np.empty(n_pairs)
    j = -1
    total = np.int64(0)
    for i in range(n):
        key = v[i] >> a_bits
        if i == 0 or key != (v[i - 1] >> a_bits):
            if j >= 0:
                pair_c[j] = total / 100.0
            j += 1
            pair_donor[j] = key // n_projects
            pair_project[j] = key % n_projects
            total = np.int64(0)
        total += (v[i] & a_mask) * unit if packed else fen[order[i]]
    if j >= 0:
        pair_c[j] = total / 100.0
    return pair_donor, pair_project, pair_c


@njit(cache=True, inline="always")
def _bit_length(x):
    """The bits a non-negative integer needs (0 for 0)."""
    b = 0
    while x > 0:
        x >>= 1
        b += 1
    return b


@njit(cache=True, nogil=True)
def _sort_bits(v, lo, n_bits, payload):
    """``v`` sorted by its bits ``lo`` to ``lo + n_bits - 1`` (a stable least-significant-
    digit radix sort, digits of at most :data:`RADIX_BITS` bits, every digit's counts
    made in one first pass), ``payload`` (as long as ``v``, or empty: none) moved with it;
    ``v`` and ``payload`` are the sort's scratch. Returns (``v`` sorted, ``payload`` in
    its order), each ``v``'s own array or the scratch of the same size."""
    n = v.shape[0]
    carry = payload.shape[0] > 0
    passes = (n_bits + RADIX_BITS - 1) // RADIX_BITS
    if passes == 0 or n < 2:
        return v, payload
    width = (n_bits + passes - 1) // passes
    n_buckets = 1 << width
    mask = n_buckets - 1
    start = np.zeros((passes, n_buckets + 1), dtype=np.int64)
    for i in range(n):
        x = v[i] >> lo
        for q in range(passes):
            start[q, ((x >> (q * width)) & mask) + 1] += 1
    out = np.empty_like(v)
    p_out = np.empty_like(payload)
    for q in range(passes):
        st = start[q]
        for b in range(n_buckets):
            st[b + 1] += st[b]
        shift = lo + q * width
        for i in range(n):
            d = (v[i] >> shift) & mask
            j = st[d]
            st[d] = j + 1
            out[j] = v[i]
            if carry:
                p_out[j] = payload[i]
        v, out = out, v
        payload, p_out = p_out, payload
    return v, payload


@njit(cache=True, nogil=True)
def pair_sums(donors, projects, amounts, n_projects):
    """A window's gifts, in chunks (lists of arrays: each chunk's donors, projects and
    amounts in fen), summed by (donor, project) pair, the pairs in the order of their key
    ``donor x n_projects + project``: each pair's donor, project and yuan (its fen / 100).

    Where the key and the amount fit one 64-bit word together (the amount in yuan when
    every gift is whole yuan, as a full-scale window's are: 39 bits of key, 18 of
    amount), the words are sorted by their key bits and summed in one pass, with no
    gather: a pair's gifts share its key, so the order among them is moot for an integer
    sum. Else the keys are sorted with their gifts' order (:func:`_radix`) and the
    amounts gathered. Either way the same arrays. The chunks are read where they are (a
    window's minutes, never put together in one array)."""
    n = 0
    key_top = np.int64(0)
    a_top = np.int64(0)
    a_min = np.int64(0)
    whole_yuan = True
    for c in range(len(donors)):
        donor, project, amount = donors[c], projects[c], amounts[c]
        n += donor.shape[0]
        for i in range(donor.shape[0]):
            key = np.int64(donor[i]) * n_projects + project[i]
            a = np.int64(amount[i])
            key_top = max(key_top, key)
            a_top = max(a_top, a)
            a_min = min(a_min, a)
            if a % 100 != 0:
                whole_yuan = False
    unit = 100 if whole_yuan else 1
    a_bits = _bit_length(a_top // unit)
    k_bits = _bit_length(key_top)
    packed = a_min >= 0 and a_bits + k_bits <= 63
    v = np.empty(n, dtype=np.int64)
    fen = np.empty(0 if packed else n, dtype=np.int64)
    j = 0
    for c in range(len(donors)):
        donor, project, amount = donors[c], projects[c], amounts[c]
        for i in range(donor.shape[0]):
            key = np.int64(donor[i]) * n_projects + project[i]
            if packed:
                v[j] = (key << a_bits) | (np.int64(amount[i]) // unit)
            else:
                v[j] = key
                fen[j] = amount[i]
            j += 1
    if not packed:
        sorted_key, order = _radix(v)
        return _sum_runs(sorted_key, 0, 1, fen, order, n_projects)
    v, _ = _sort_bits(v, a_bits, k_bits, np.empty(0, dtype=np.int64))
    return _sum_runs(v, a_bits, unit, fen, np.empty(0, dtype=np.int64), n_projects)


@njit(cache=True, nogil=True)
def _by_project(pair_project, pair_c, n_projects):
    """Each project's distinct donors, yuan and sum of the square roots of its donors'
    yuan, the pairs taken in their order (the sums ``np.bincount`` makes)."""
    n_donors = np.zeros(n_projects, dtype=np.int64)
    sum_c = np.zeros(n_projects)
    sum_sqrt = np.zeros(n_projects)
    for i in range(pair_project.shape[0]):
        p = pair_project[i]
        n_donors[p] += 1
        sum_c[p] += pair_c[i]
        sum_sqrt[p] += np.sqrt(pair_c[i])
    return n_donors, sum_c, sum_sqrt


# A window of fewer gifts than this is put together in one array before it is summed: numba's
# typed list takes about 15 us a chunk to build from Python (a window's chunks are its
# minutes: 4,320 of three arrays for a three-day window, 0.2 s), the copy far less. A larger
# one (a full-scale window: 2,000万 gifts) is read where it is. The same sums either way.
JOIN_CHUNKS_BELOW = 1 << 22


def _chunks(x) -> List:
    """A window's gifts as numba's typed list of chunks (one chunk if an array, or if the
    window is small: :data:`JOIN_CHUNKS_BELOW`)."""
    if isinstance(x, np.ndarray):
        return List([x])
    if sum(c.shape[0] for c in x) < JOIN_CHUNKS_BELOW:
        return List([np.concatenate(x)])
    return List(x)


def window_stats(donor, project, amount_fen, donor_kind, n_projects, org, n_orgs) -> WindowStats:
    """Sum a window's gifts by (donor, project) pair (:func:`pair_sums`): ``donor``,
    ``project`` and ``amount_fen`` are arrays or lists of chunks (at least one each);
    ``donor_kind``: every donor's kind, by donor."""
    pair_donor, pair_project, pair_c = pair_sums(
        _chunks(donor), _chunks(project), _chunks(amount_fen), n_projects
    )
    n_donors, sum_c, sum_sqrt = _by_project(pair_project, pair_c, n_projects)
    return WindowStats(
        pair_donor=pair_donor,
        pair_project=pair_project,
        pair_c=pair_c,
        pair_kind=donor_kind[pair_donor].astype(np.int8, copy=False),
        n_donors=n_donors,
        sum_c=sum_c,
        sum_sqrt=sum_sqrt,
        org=org,
        n_orgs=n_orgs,
    )


MAX_CLASSES = 128  # a project's distinct contributions beyond this are grouped


@njit(cache=True)
def _pairwise(order_c, starts, m, max_classes):
    """Per project, sum over unordered donor pairs of 2 sqrt(ci cj) M / (M + sqrt(ci cj)).

    Donors with equal contributions are taken together (``order_c``: the pairs' amounts
    sorted by project, then amount; project p's are ``starts[p]`` to ``starts[p + 1]``),
    so a project costs (distinct contributions)^2. A project with more than
    ``max_classes`` distinct contributions has them grouped into that many classes evenly
    spaced in log(c), each standing for its members by their mean sqrt(c): a pair term
    then errs by the class width, under 5% for contributions from 1 yuan to 10万 yuan."""
    n_p = starts.shape[0] - 1
    out = np.zeros(n_p)
    for p in range(n_p):
        lo, hi = starts[p], starts[p + 1]
        if hi - lo < 2:
            continue
        # distinct values (as sqrt) and their counts
        root = np.empty(hi - lo)
        cnts = np.empty(hi - lo)
        nv = 0
        for i in range(lo, hi):
            if nv > 0 and order_c[i] == order_c[i - 1]:
                cnts[nv - 1] += 1.0
            else:
                root[nv] = np.sqrt(order_c[i])
                cnts[nv] = 1.0
                nv += 1
        if nv > max_classes:
            lmin, lmax = np.log(max(root[0], 1e-9)), np.log(root[nv - 1])
            width = (lmax - lmin) / max_classes
            sroot = np.zeros(max_classes)
            scnt = np.zeros(max_classes)
            for a in range(nv):
                b = min(max_classes - 1, max(0, int((np.log(max(root[a], 1e-9)) - lmin) / width)))
                sroot[b] += root[a] * cnts[a]
                scnt[b] += cnts[a]
            nv = 0
            for b in range(max_classes):
                if scnt[b] > 0:
                    root[nv] = sroot[b] / scnt[b]
                    cnts[nv] = scnt[b]
                    nv += 1
        s = 0.0
        for a in range(nv):
            ra, na = root[a], cnts[a]
            k = ra * ra
            s += na * (na - 1.0) * k * m / (m + k)  # C(na, 2) pairs x 2 sqrt(c c) x bound
            for b in range(a + 1, nv):
                k = ra * root[b]
                s += na * cnts[b] * 2.0 * k * m / (m + k)
        out[p] = s
    return out


@njit(cache=True, nogil=True)
def _by_project_and_fen(pair_project, pair_c, p_bits):
    """The pairs' yuan sorted by (project, yuan), where every amount is whole fen (a
    window's are): one word a pair, the project above the fen (:func:`_sort_bits`).
    Returns (whether they were all whole fen, the sorted yuan); nothing is sorted if not."""
    n = pair_c.shape[0]
    f_top = np.int64(0)
    for i in range(n):
        fen = np.rint(pair_c[i] * 100.0)
        if not (fen >= 0.0 and fen / 100.0 == pair_c[i] and fen < 2.0**62 and pair_project[i] >= 0):
            return False, np.empty(0)
        f_top = max(f_top, np.int64(fen))
    f_bits = _bit_length(f_top)
    if f_bits + p_bits > 62:
        return False, np.empty(0)
    v = np.empty(n, dtype=np.int64)
    for i in range(n):
        v[i] = (np.int64(pair_project[i]) << f_bits) | np.int64(np.rint(pair_c[i] * 100.0))
    v, _ = _sort_bits(v, 0, f_bits + p_bits, np.empty(0, dtype=np.int64))
    mask = (np.int64(1) << f_bits) - 1
    out = np.empty(n)
    for i in range(n):
        out[i] = (v[i] & mask) / 100.0
    return True, out


def pairwise_subsidy(pair_project, pair_c, n_projects: int, m: float) -> np.ndarray:
    """The pairwise-bounded QF subsidy of each project (yuan).

    The pairs are taken by project, then amount (:func:`_pairwise` merges equal amounts,
    so any such order gives the same sums). Where every amount is whole fen, as a window's
    are, they are sorted as one word a pair by a radix sort (0.5 s for 1,720万 pairs where
    ``np.lexsort`` took 5.2, measured 2026-12-06); else by ``np.lexsort``."""
    counts = np.bincount(pair_project, minlength=n_projects)
    starts = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    whole, c = _by_project_and_fen(pair_project, pair_c, int(n_projects - 1).bit_length())
    if not whole:
        c = pair_c[np.lexsort((pair_c, pair_project))]
    return _pairwise(c, starts, m, MAX_CLASSES)


def whole_fen(ideal_fen: np.ndarray, total: int) -> np.ndarray:
    """Integers summing to ``total`` from non-negative ideal amounts summing to about it:
    floors, then one more fen to the largest remainders (ties: lower index first)."""
    base = np.floor(ideal_fen).astype(np.int64)
    short = int(total - base.sum())
    if short > 0:
        rem = ideal_fen - base
        top = np.lexsort((np.arange(rem.shape[0]), -rem))[:short]
        base[top] += 1
    elif short < 0:  # float rounding the other way: take fen back from the largest floors
        top = np.argsort(-base, kind="stable")[:-short]
        base[top] -= 1
    return base


class PostEventRule(MatchRule):
    """A rule allocated once, when its pool's window closes, over the window's eligible
    gifts (those the kernel let through: not rate-limited, project not frozen, at least
    ``min_gift_yuan``). Subclasses give each project's share of the pool and how a
    project's match is attributed to its donors (for the gaming and matched-donor
    metrics); :func:`allocate` makes whole fen of them."""

    mode = MODE_POST
    post_event = True

    def shares(self, st: WindowStats) -> tuple[np.ndarray, bool]:
        """Each project's claim on the pool (float, >= 0), and whether the claims are
        amounts in yuan (paid up to the pool: alpha scaling) or only relative weights
        (the whole pool is split in proportion)."""
        raise NotImplementedError

    def attribution(self, st) -> np.ndarray:
        """Each (donor, project) pair's share of its project's match; sums to 1 a project."""
        return st.pair_c / st.sum_c[st.pair_project]

    def expected_match(self, ref_yuan: float, tenure_q: float) -> tuple[float, float]:
        """Nothing at the gift: see :meth:`estimate`."""
        return 0.0, 1.0

    def estimate(self, so_far: WindowSoFar, budget_yuan: float, ref_yuan: float) -> np.ndarray:
        """The match a gift of ``ref_yuan`` to each project can expect, as a share of the
        gift, from what the window's eligible gifts will be at its close (``so_far``,
        projected): what a platform could publish while the window runs. The default: the
        pool over the eligible money (a pro-rata bonus rate)."""
        total = so_far.yuan.sum()
        return np.full(so_far.yuan.shape[0], budget_yuan / total if total > 0 else np.inf)

    def eligible(self, flags: np.ndarray, public_fen: np.ndarray) -> np.ndarray:
        """The projects this pool may pay (``projects``, ``min_project_public_yuan``:
        2020's pools for joint appeals and for projects with 100万 of public gifts)."""
        ok = public_fen >= fen(self.cfg.min_project_public_yuan)
        if self.cfg.projects == "joint_appeal":
            ok &= (flags & FLAG_JOINT_APPEAL) > 0
        return ok


class Breadth(PostEventRule):
    """The pool split by the number of distinct donors of each project."""

    def shares(self, st):
        return st.n_donors.astype(float), False

    def attribution(self, st):
        return 1.0 / st.n_donors[st.pair_project]

    def estimate(self, so_far, budget_yuan, ref_yuan):
        """The pool's share a donor, against the reference gift."""
        n = so_far.gifts.sum()
        share = budget_yuan / n / ref_yuan if n > 0 else np.inf
        return np.full(so_far.gifts.shape[0], share)


class ProRata(PostEventRule):
    """Bonus per yuan = pool / eligible total; at most ``org_cap_share`` of the pool to
    one organisation, the rest shared among the others the same way (water-filling)."""

    @classmethod
    def check(cls, key: str, cfg: RuleConfig) -> None:
        super().check(key, cfg)
        v = cfg.org_cap_share
        if v is not None and not 0 < v <= 1:
            raise ConfigError(f"{key}.org_cap_share={v!r} is not allowed: 0 < share <= 1, or null")

    def shares(self, st):
        w = st.sum_c.copy()
        cap = self.cfg.org_cap_share
        if cap is None:
            return w, False
        org_w = np.bincount(st.org, weights=w, minlength=st.n_orgs)
        share = water_fill(org_w, cap)
        with np.errstate(invalid="ignore", divide="ignore"):
            within = np.where(org_w[st.org] > 0, w / org_w[st.org], 0.0)
        return share[st.org] * within, False


class ThresholdPrizes(PostEventRule):
    """``donor_thresholds`` = [[distinct donors, share of the pool], ...]: each share is
    split equally among the projects that reached that many distinct donors."""

    @classmethod
    def check(cls, key: str, cfg: RuleConfig) -> None:
        super().check(key, cfg)
        t = [list(x) for x in cfg.donor_thresholds]
        ok = len(t) >= 1 and all(len(x) == 2 and x[0] >= 1 and x[1] >= 0 for x in t)
        if not ok or abs(sum(x[1] for x in t) - 1) > 1e-9:
            raise ConfigError(
                f"{key}.donor_thresholds={t!r} is not allowed: [[donors >= 1, "
                "share >= 0], ...] with shares adding up to 1"
            )

    def shares(self, st):
        w = np.zeros(st.n_donors.shape[0])
        for threshold, share in self.cfg.donor_thresholds:
            won = st.n_donors >= threshold
            if won.any():
                w[won] += share / won.sum()
        return w, False

    def estimate(self, so_far, budget_yuan, ref_yuan):
        """The prizes a project is on course for, shared by its donors, against the
        reference gift."""
        n = so_far.gifts
        prize = np.zeros(n.shape[0])
        for threshold, share in self.cfg.donor_thresholds:
            won = n >= threshold
            if won.any():
                prize[won] += share * budget_yuan / won.sum()
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(n > 0, prize / n / ref_yuan, np.inf)

    def attribution(self, st):
        return 1.0 / st.n_donors[st.pair_project]


class Quadratic(PostEventRule):
    """Capital-constrained quadratic funding. ``qf_variant=alpha``: project p gets
    alpha x S_p with S_p = (sum sqrt c)^2 - sum c and alpha = min(1, B / sum S), so four
    gifts of 1 from four donors get 12 and one gift of 4 gets nothing. ``proportional``:
    B split in proportion to (sum sqrt c)^2, which gives the single gift of 4 a share."""

    VARIANTS = ("alpha", "proportional")

    @classmethod
    def check(cls, key: str, cfg: RuleConfig) -> None:
        super().check(key, cfg)
        if cfg.qf_variant not in cls.VARIANTS:
            raise ConfigError(
                f"{key}.qf_variant={cfg.qf_variant!r} is not allowed: one of {list(cls.VARIANTS)}"
            )

    def shares(self, st):
        if self.cfg.qf_variant == "proportional":
            return st.sum_sqrt**2, False
        return np.maximum(st.sum_sqrt**2 - st.sum_c, 0.0), True

    def estimate(self, so_far, budget_yuan, ref_yuan):
        """The marginal match of one more gift of ``ref_yuan`` to each project, against the
        gift: alpha x 2 sqrt(ref) sum sqrt c (the subsidy's growth), or for the
        proportional variant the pool's share by which (sum sqrt c)^2 grows."""
        root, c = so_far.sum_sqrt, so_far.yuan
        grow = 2 * np.sqrt(ref_yuan) * root
        if self.cfg.qf_variant == "proportional":
            whole = (root**2).sum()
            if whole <= 0:
                return np.full(c.shape[0], np.inf)
            return budget_yuan * (grow + ref_yuan) / whole / ref_yuan
        subsidy = np.maximum(root**2 - c, 0.0).sum()
        alpha = min(1.0, budget_yuan / subsidy) if subsidy > 0 else 1.0
        return alpha * grow * self._bound(so_far, ref_yuan) / ref_yuan

    def _bound(self, so_far: WindowSoFar, ref_yuan: float) -> np.ndarray | float:
        """The pair bound on a gift's terms: none for plain QF."""
        return 1.0

    def attribution(self, st):
        return np.sqrt(st.pair_c) / st.sum_sqrt[st.pair_project]


class PairwiseQuadratic(Quadratic):
    """Pairwise-bounded QF: S_p = sum over donor pairs i < j of p of
    2 sqrt(c_i c_j) x M / (M + k_ij), paid at alpha = min(1, B / sum S).

    k_ij is the pair's co-funding sqrt(c_i c_j) on p itself: exact for pairs that share no
    other project, an under-estimate (so a looser bound) for pairs that co-fund several."""

    @classmethod
    def check(cls, key: str, cfg: RuleConfig) -> None:
        super().check(key, cfg)
        if not cfg.pairwise_m_yuan > 0:
            raise ConfigError(
                f"{key}.pairwise_m_yuan={cfg.pairwise_m_yuan!r} is not allowed: M > 0 yuan"
            )

    def _bound(self, so_far, ref_yuan):
        """The pair bound M / (M + sqrt(c_i c_j)) for the reference gift and a project's
        typical gift."""
        with np.errstate(divide="ignore", invalid="ignore"):
            typical = np.where(so_far.gifts > 0, so_far.yuan / so_far.gifts, ref_yuan)
        m = float(self.cfg.pairwise_m_yuan)
        return m / (m + np.sqrt(ref_yuan * typical))

    def shares(self, st):
        return pairwise_subsidy(
            st.pair_project, st.pair_c, st.n_donors.shape[0], float(self.cfg.pairwise_m_yuan)
        ), True


def water_fill(w: np.ndarray, cap: float) -> np.ndarray:
    """Shares of a whole in proportion to ``w``, none above ``cap``; what a capped entry
    cannot take goes to the others in proportion (if every entry is capped, the rest is
    left over)."""
    share = np.zeros_like(w, dtype=float)
    free = w > 0
    left = 1.0
    while free.any() and left > 1e-15:
        s = left * w[free] / w[free].sum()
        over = s > cap
        if not over.any():
            share[free] += s
            break
        idx = np.flatnonzero(free)[over]
        share[idx] = cap
        left -= cap * idx.shape[0]
        free[idx] = False
    return share


@dataclass
class Allocation:
    per_project: np.ndarray  # int64 fen
    gamed_fen: int  # of it, attributed to gaming identities' gifts
    matched_pairs: np.ndarray  # bool per pair: the pair's project got match


def allocate(
    rule: PostEventRule,
    row: np.ndarray,
    st: WindowStats,
    budget_fen: int,
    flags: np.ndarray,
    frozen: np.ndarray,
) -> Allocation:
    """Split up to ``budget_fen`` among projects by ``rule``; see the module docstring.
    ``frozen`` marks the projects that get nothing (match frozen, or not eligible)."""
    n_p = st.n_donors.shape[0]
    if budget_fen <= 0 or st.pair_c.size == 0:
        return Allocation(np.zeros(n_p, np.int64), 0, np.zeros(st.pair_c.size, bool))
    claim, are_amounts = rule.shares(st)
    claim = np.asarray(claim, dtype=float).copy()
    w = np.ones(n_p)
    w += (flags & FLAG_LESS_DEVELOPED > 0) * row[F["eq_region_bp"]] / 10_000
    w += (flags & FLAG_SMALL_ORG > 0) * row[F["eq_small_bp"]] / 10_000
    claim *= w
    claim[frozen > 0] = 0.0
    total_claim = claim.sum()
    if total_claim <= 0:
        return Allocation(np.zeros(n_p, np.int64), 0, np.zeros(st.pair_c.size, bool))
    if are_amounts:  # yuan: paid in full if the pool allows, else at alpha
        ideal = claim * 100.0 * min(1.0, budget_fen / (total_claim * 100.0))
    else:
        ideal = claim * (budget_fen / total_claim)
    cap = row[F["project_cap_fen"]]
    if cap > 0:
        ideal = np.minimum(ideal, float(cap))
    total = min(budget_fen, int(np.floor(ideal.sum() + 1e-6)))
    paid = whole_fen(ideal, total)
    if cap > 0:
        assert (paid <= cap).all()
    share = rule.attribution(st)
    gaming = st.pair_kind > 0
    gamed = float((paid[st.pair_project[gaming]] * share[gaming]).sum())
    return Allocation(paid, int(round(gamed)), paid[st.pair_project] > 0)
