"""Settlement: the gifts of one minute, in timestamp order, against pools and caps.

The kernel (:func:`settle_batch`) is one compiled loop over a batch's gifts (numpy arrays,
no Python object per gift). It is sequential on purpose: a pool, a donor's daily cap or a
project's cap binds at the exact gift that reaches it, and that gift gets only what is
left. Every fen of a gift and of its match is added to the gift's own project, and a pool's
``remaining`` never goes below zero: ``paid + remaining`` stays equal to what was released
into it. What each rule offers a gift is :func:`sim.policies.per_gift.offer`.

The kernel reads its arguments in groups, each laid out by a named tuple: the batch's gifts
(:class:`~sim.model.arrivals.Gifts`) and rows, the batch's donor records
(:class:`BatchDonors`), the projects' and the pools' state
(:class:`~sim.model.projects.ProjectState`, :class:`~sim.model.pools.PoolState`), the live
lists (:class:`~sim.model.pools.LiveLists`), the platform's rules (:class:`SettleRules`) and
the per-gift outputs (:class:`Settled`); it unpacks each in its fields' order.
:class:`Settlement` marshals them and passes them as plain tuples: numba types a plain tuple
of arrays in its dispatcher's C code and a named tuple in Python (measured 2026-12-01: 3.5
against 8.2 us a call, 0.06 s of a run's 12,960 minutes).

:mod:`sim.model.reference` settles the same gifts one SimPy event per gift through a
plain-Python reading of the same rules; a test holds the two to the identical ledger.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from sim.codes import BANNED, DONOR_RECORD, MATCHED, F
from sim.model.donors import Donors
from sim.model.gifts import FlowerEvents, Gifts
from sim.model.pools import Pools
from sim.model.projects import Projects
from sim.policies.per_gift import offer
from sim.schema import FlowerConfig

_DCAP, _PCAP = F["donor_day_cap_fen"], F["project_cap_fen"]


class BatchDonors(NamedTuple):
    """The records of a batch's donors and friends, one row each, copied out of the
    population table (:func:`gather_records`); the state fields are views of the copy."""

    flowers: np.ndarray
    chances: np.ndarray
    helps_today: np.ndarray
    match_today: np.ndarray
    gifts_made: np.ndarray
    status: np.ndarray
    tenure: np.ndarray  # int8 years of giving (0 where not drawn)
    kind: np.ndarray  # int8 KIND_*
    batch_gifts: np.ndarray  # int16 each row's gifts in the batch (rate limit; else empty)


class SettleRules(NamedTuple):
    """The platform's rules a gift meets, besides the pools' own."""

    flowers_per_gift: int
    chances_per_help_gift: int  # chances a 1-yuan friend-help gift gives the friend
    max_helps: int  # helps a friend receives a day, at most
    rate_limit: int  # an account's gifts a minute beyond this: flagged, banned (0: none)
    freeze_after: int  # a project's match stops after this many flagged gifts (0: never)
    detect_ppm: np.ndarray  # float64 odds a gift is flagged, by its donor's kind


class Settled(NamedTuple):
    """What the kernel says of each gift of a batch."""

    foundation_match: np.ndarray  # int64 fen
    enterprise_match: np.ndarray  # int64 fen
    enterprise_pool: np.ndarray  # int64 the pool that matched it, -1 none
    ok: np.ndarray  # bool passed the platform's checks (post-event rules allocate over them)

    @classmethod
    def empty(cls, n: int) -> Settled:
        """Arrays for ``n`` gifts (the kernel fills every entry)."""
        return cls(
            np.empty(n, dtype=np.int64),
            np.empty(n, dtype=np.int64),
            np.empty(n, dtype=np.int64),
            np.empty(n, dtype=np.bool_),
        )


@njit(cache=True, inline="always")
def _bound(m, cap, used):
    """m limited by what is left of a cap (cap 0 means none)."""
    if cap > 0 and m > cap - used:
        m = cap - used
    return m if m > 0 else np.int64(0)


@njit(cache=True, nogil=True)
def settle_batch(gifts, row_donor, row_helpee, donors, projects, pools, live, rules, out):
    """Settle one batch of gifts, already in timestamp order, updating all state in place.

    ``gifts`` (:class:`~sim.model.arrivals.Gifts`) are read for their times, projects,
    amounts and uniforms; their donors and friends by their rows in ``donors``
    (``row_donor``, ``row_helpee``: -1 for none, see :func:`batch_rows`).

    First the platform's checks (``rules``): an account's gifts beyond ``rate_limit`` in
    the batch (a minute) are flagged and the account is banned from match for the rest of
    the event (the ``BANNED`` bit of ``status``; 2017: machine accounts; "a year's ban");
    any gift is flagged with probability ``detect_ppm[kind of its donor]`` (index 0: an
    honest donor's false positive); a project with ``freeze_after`` flags gets no more
    match. Each gift that passes may be matched by every open Foundation (global) pool with
    money left, and by the first open pool linked to its project (an enterprise) with money
    left; match paid on a gaming donor's gift is counted in ``pools.gamed``. Then the gift
    itself is credited: its money to its project, a flower to its donor, and, for a 1-yuan
    friend-help gift, chances to the friend it helps, at most ``max_helps`` helps a friend
    a day. ``out`` (:class:`Settled`) gets each gift's match and whether it passed.

    The pools the loops look at are those of the live lists (``live``,
    :func:`sim.model.pools.live_lists`): the positions in ``pools.foundation`` of the
    Foundation pools that may pay in the batch, and a CSR over projects of the links that
    may, in priority order. Any superset of the pools that can pay gives the same result
    (each is checked gift by gift); the lists only spare the loops the pools that are
    spent, closed or not yet released: at full scale a gift's project had 10 links on
    average, and one in four gifts a link that could pay.

    Returns the number of changes in which projects can be matched (a pool emptied, a
    project reaching a pool's cap or frozen), so the caller knows when to refresh.
    """
    # each group unpacked in its named tuple's order (the module docstring says why)
    t, _, project, amount, _, u_match, u_fraction, u_bonus, u_detect, _, _ = gifts
    (flowers, chances, helps_today, match_today, gifts_made, status, tenure, kind, batch_gifts) = (
        donors
    )
    (proj_public, proj_count, proj_fmatch, proj_ematch, proj_flags, proj_frozen, proj_detect) = (
        projects
    )
    (
        pool_open,
        pool_close,
        pool_remaining,
        pool_paid,
        pool_depleted,
        pool_gamed,
        rule_rows,
        global_pools,
        gp_paid,
        link_paid,
    ) = pools
    live_global, live_ptr, live_link, live_pool = live
    flowers_per_gift, chances_per_help_gift, max_helps, rate_limit, freeze_after, detect_ppm = rules
    out_fmatch, out_ematch, out_epool, out_ok = out
    changes = 0
    n = t.shape[0]
    for i in range(n):
        d = row_donor[i]
        p = project[i]
        a = amount[i]
        ti = t[i]
        f = flowers[d]
        k_d = kind[d]
        limited = False
        if rate_limit > 0:
            batch_gifts[d] += 1
            if batch_gifts[d] > rate_limit:
                limited = True
                status[d] |= BANNED
        if limited or u_detect[i] * 1_000_000.0 < detect_ppm[k_d]:
            proj_detect[p] += 1
            if freeze_after > 0 and proj_detect[p] >= freeze_after and proj_frozen[p] == 0:
                proj_frozen[p] = 1
                changes += 1
        ok = (status[d] & BANNED) == 0 and proj_frozen[p] == 0
        has_chance = chances[d] > 0
        spent_chance = False
        fm = np.int64(0)
        em = np.int64(0)
        ep = -1
        if ok:
            pf = proj_flags[p]
            ten = tenure[d]
            # The Foundation and the enterprise loops below are written out on purpose:
            # sharing one helper for offer, caps and payment measured 1.7x slower at scale
            # 0.5 (numba 0.68), the kernel being the hottest code of a run.
            for q in range(live_global.shape[0]):
                k = live_global[q]
                g = global_pools[k]
                if pool_remaining[g] <= 0 or ti < pool_open[g] or ti >= pool_close[g]:
                    continue
                m, spent = offer(
                    rule_rows,
                    g,
                    a,
                    f,
                    has_chance and not spent_chance,
                    u_match[i],
                    u_fraction[i],
                    u_bonus[i],
                    ten,
                    pf,
                )
                spent_chance = spent_chance or spent
                m = _bound(m, rule_rows[g, _DCAP], match_today[d])
                m = _bound(m, rule_rows[g, _PCAP], gp_paid[k, p])
                m = min(m, pool_remaining[g])
                if m > 0:
                    pool_remaining[g] -= m
                    pool_paid[g] += m
                    gp_paid[k, p] += m
                    if k_d > 0:
                        pool_gamed[g] += m
                    if rule_rows[g, _DCAP] > 0:
                        match_today[d] += m
                    fm += m
                    if rule_rows[g, _PCAP] > 0 and gp_paid[k, p] >= rule_rows[g, _PCAP]:
                        changes += 1
                    if pool_remaining[g] == 0:
                        pool_depleted[g] = ti
                        changes += 1
            for q in range(live_ptr[p], live_ptr[p + 1]):
                j = live_link[q]
                e = live_pool[q]
                if pool_remaining[e] <= 0 or ti < pool_open[e] or ti >= pool_close[e]:
                    continue
                m, spent = offer(
                    rule_rows,
                    e,
                    a,
                    f,
                    has_chance and not spent_chance,
                    u_match[i],
                    u_fraction[i],
                    u_bonus[i],
                    ten,
                    pf,
                )
                spent_chance = spent_chance or spent
                m = _bound(m, rule_rows[e, _DCAP], match_today[d])
                m = _bound(m, rule_rows[e, _PCAP], link_paid[j])
                m = min(m, pool_remaining[e])
                if m > 0:
                    pool_remaining[e] -= m
                    pool_paid[e] += m
                    link_paid[j] += m
                    if k_d > 0:
                        pool_gamed[e] += m
                    if rule_rows[e, _DCAP] > 0:
                        match_today[d] += m
                    em = m
                    ep = e
                    if rule_rows[e, _PCAP] > 0 and link_paid[j] >= rule_rows[e, _PCAP]:
                        changes += 1
                    if pool_remaining[e] == 0:
                        pool_depleted[e] = ti
                        changes += 1
                break
        if spent_chance:
            chances[d] -= 1
        if fm + em > 0:
            status[d] |= MATCHED
        proj_public[p] += a
        proj_count[p] += 1
        proj_fmatch[p] += fm
        proj_ematch[p] += em
        out_fmatch[i] = fm
        out_ematch[i] = em
        out_epool[i] = ep
        out_ok[i] = ok
        flowers[d] += flowers_per_gift
        gifts_made[d] += 1
        h = row_helpee[i]
        if h >= 0 and helps_today[h] < max_helps:
            helps_today[h] += 1
            chances[h] += chances_per_help_gift
    if rate_limit > 0:
        for i in range(n):
            batch_gifts[row_donor[i]] = 0
    return changes


@njit(cache=True, nogil=True)
def batch_rows(donor, helpee, table, local_donor, local_helpee):
    """Number a batch's donors and friends (``helpee`` >= 0), each once, in order of first
    appearance: fills ``local_donor`` and ``local_helpee`` (-1 for none) with their rows
    and returns the population id of each row. Reads no donor state, so it can be done
    before the batch settles (and on another thread).

    ``table`` is an open-addressing table of -1s of at least 4 x the batch (left all -1s
    again); an entry packs a population id (high 32 bits) and its row (low 32 bits), so a
    probe is one load and the part in use stays small enough for the core's own cache."""
    n = donor.shape[0]
    count = n
    for i in range(n):
        if helpee[i] >= 0:
            count += 1
    bits = 4
    while (1 << bits) < 2 * count:
        bits += 1
    mask = (1 << bits) - 1
    shift = np.uint64(64 - bits)
    ids = np.empty(count, dtype=np.int64)
    pos = np.empty(count, dtype=np.int64)
    u = 0
    for i in range(2 * n):
        x = donor[i] if i < n else helpee[i - n]
        if x < 0:
            local_helpee[i - n] = -1
            continue
        h = np.int64((np.uint64(x) * np.uint64(0x9E3779B97F4A7C15)) >> shift)
        while table[h] != -1 and (table[h] >> 32) != x:
            h = (h + 1) & mask
        if table[h] == -1:
            table[h] = (x << 32) | u
            ids[u] = x
            pos[u] = h
            u += 1
        row = table[h] & 0xFFFFFFFF
        if i < n:
            local_donor[i] = row
        else:
            local_helpee[i - n] = row
    for k in range(u):
        table[pos[k]] = -1
    return ids[:u]


class Rows(NamedTuple):
    """A batch's donors and friends numbered for its copy of their records."""

    donor: np.ndarray  # int64 row of each gift's donor
    helpee: np.ndarray  # int64 row of the friend it helps, -1 for none
    ids: np.ndarray  # int64 population id of each row


class RowNumbering:
    """Numbers batches' donors (:func:`batch_rows`) with a hash table of its own; one for
    each thread that numbers batches."""

    def __init__(self):
        self.table = np.zeros(0, dtype=np.int64)

    def __call__(self, gifts: Gifts) -> Rows:
        n = gifts.t.shape[0]
        if self.table.shape[0] < 4 * n:  # at most 2n ids, the table half full
            self.table = np.full(1 << max(4, (4 * n - 1).bit_length()), -1, dtype=np.int64)
        local_donor = np.empty(n, dtype=np.int64)
        local_helpee = np.empty(n, dtype=np.int64)
        ids = batch_rows(gifts.donor, gifts.helpee, self.table, local_donor, local_helpee)
        return Rows(local_donor, local_helpee, ids)


@njit(cache=True, nogil=True)
def gather_records(records, kind, tenure, first_kind, ids):
    """The records of population ids ``ids`` (a donor's 16-byte record as two int64
    words), copied out of the population table into a small table of their own, with
    their ``kind`` and ``tenure``. Returns (records, kind, tenure) of the rows
    (:func:`gather_into` into new arrays)."""
    m = ids.shape[0]
    local = np.empty((m, 2), dtype=records.dtype)
    local_kind = np.empty(m, dtype=kind.dtype)
    local_tenure = np.empty(m, dtype=tenure.dtype)
    gather_into(records, kind, tenure, first_kind, ids, local, local_kind, local_tenure)
    return local, local_kind, local_tenure


@njit(cache=True, nogil=True)
def gather_into(records, kind, tenure, first_kind, ids, local, local_kind, local_tenure):
    """The records, kinds and tenures of population ids ``ids`` into the first rows of
    ``local``, ``local_kind`` and ``local_tenure`` (at least as long as ``ids``).

    The settlement loop then reads and writes records that sit together in the cache
    instead of one at random in 720 MB (each a cache and a page-translation miss it waits
    for); this loop's loads are independent, so their misses overlap. ``kind`` is read
    only for ids from ``first_kind`` on (those before are honest donors, kind 0), and
    ``tenure`` only if it is not empty (else 0): a read of each for every row cost as much
    as the records' own (two more page-translation misses)."""
    with_tenure = tenure.shape[0] > 0
    for k in range(ids.shape[0]):  # both loads before the stores, which could alias them
        r = ids[k]
        w0, w1 = records[r, 0], records[r, 1]
        local[k, 0], local[k, 1] = w0, w1
        local_kind[k] = kind[r] if r >= first_kind else 0
        local_tenure[k] = tenure[r] if with_tenure else 0


@njit(cache=True, nogil=True)
def restore_donors(records, local, ids):
    """Write a batch's records back into the population table (see gather_records)."""
    for k in range(ids.shape[0]):
        r = ids[k]
        w0, w1 = local[k, 0], local[k, 1]
        records[r, 0], records[r, 1] = w0, w1


@njit(cache=True, nogil=True)
def flower_events(
    quiz,
    steps,
    helpee,
    flowers,
    helps_today,
    chances,
    per_quiz,
    per_step,
    per_help,
    max_helps,
    chances_per_help,
):
    """A minute's events that are not gifts, in one pass: flowers to each donor who
    answered a quiz (``per_quiz``) or made a step donation (``per_step``), a donor as often
    as listed; and each help (sending flowers, answering a quiz for a friend, a like)
    credits the friend helped (``helpee``): ``per_help`` flowers and ``chances_per_help``
    chances, at most ``max_helps`` helps a friend a day (a help beyond it is refused).
    Returns the flowers earned."""
    for i in range(quiz.shape[0]):
        flowers[quiz[i]] += per_quiz
    for i in range(steps.shape[0]):
        flowers[steps[i]] += per_step
    helped = 0
    for i in range(helpee.shape[0]):
        h = helpee[i]
        if helps_today[h] < max_helps:
            helps_today[h] += 1
            chances[h] += chances_per_help
            flowers[h] += per_help
            helped += 1
    return quiz.shape[0] * per_quiz + steps.shape[0] * per_step + helped * per_help


_NO_TENURE = np.zeros(0, dtype=np.int8)  # gather_records: every donor's tenure is 0


class Settlement:
    """The settlement of a campaign's minutes: the kernel's inputs marshalled from the
    donors, projects and pools, a minute at a time."""

    def __init__(
        self,
        donors: Donors,
        projects: Projects,
        pools: Pools,
        flowers: FlowerConfig,
        rules: SettleRules,
    ):
        self.donors, self.pools, self.flowers, self.rules = donors, pools, flowers, rules
        # the state arrays are made by the build and changed in place, never replaced
        self._projects, self._pools = tuple(projects.state()), tuple(pools.state())
        self._rules = tuple(rules)
        self.number = RowNumbering()  # this thread's numbering of a batch's donors
        self._batch_rows(0)

    def _batch_rows(self, rows: int) -> None:
        """The batches' copy of their donors' records, made for ``rows`` rows (kept while
        batches fit in it: a batch reads and writes only its own rows, which the gather
        fills): the records as words, their fields, kinds and tenures, the rate limit's
        counts of gifts (all zero between batches: the kernel sets them back)."""
        d = self.donors
        self._words = np.zeros((rows, 2), dtype=d.records.dtype)
        r = self._words.view(DONOR_RECORD).reshape(-1)
        self._batch = BatchDonors(
            r["flowers"],
            r["chances"],
            r["helps_today"],
            r["match_today"],
            r["gifts_made"],
            r["status"],
            np.zeros(rows, dtype=d.tenure.dtype),
            np.zeros(rows, dtype=d.kind.dtype),
            np.zeros(rows if self.rules.rate_limit > 0 else 0, dtype=np.int16),
        )
        self._batch_tuple = tuple(self._batch)

    def flower_events(self, fe: FlowerEvents) -> int:
        """Credit a minute's flowers and friend-help chances; returns the flowers earned."""
        d, fl = self.donors, self.flowers
        return flower_events(
            fe.quiz,
            fe.steps,
            fe.helpee,  # the helper earns nothing by helping: the friend helped does
            d.flowers,
            d.helps_today,
            d.chances,
            fl.per_quiz,
            fl.per_step_donation,
            fl.per_help,
            fl.max_helps_per_day,
            fl.chances_per_help,
        )

    def settle(self, gifts: Gifts, rows: Rows | None = None) -> tuple[Settled, int]:
        """Settle a minute's gifts with the batched kernel; returns the per-gift results
        and the number of changes in which projects can be matched.

        The kernel works on a copy of the batch's donor records (:meth:`_batch_rows`),
        numbered by ``rows`` (made here if not given) and written back after it."""
        d = self.donors
        if rows is None:
            rows = self.number(gifts)
        m = rows.ids.shape[0]
        if m > self._words.shape[0]:
            self._batch_rows(max(m, 2 * self._words.shape[0]))
        b = self._batch
        gather_into(
            d.records,
            d.kind,
            d.tenure if d.has_tenure else _NO_TENURE,
            d.n,
            rows.ids,
            self._words,
            b.kind,
            b.tenure,
        )
        out = Settled.empty(gifts.t.shape[0])
        assert self.pools.live is not None, "the live lists are made before the first minute"
        changes = settle_batch(
            tuple(gifts),
            rows.donor,
            rows.helpee,
            self._batch_tuple,
            self._projects,
            self._pools,
            tuple(self.pools.live),
            self._rules,
            tuple(out),
        )
        restore_donors(d.records, self._words, rows.ids)
        return out, changes


@njit(cache=True)
def _first_kernel():
    return 0


def start_kernels() -> None:
    """Start numba's runtime, which the first call of any compiled function in a process
    does (0.7-0.8 s measured, 2026-11-22, most of it numba's registries); the campaign
    calls this on a thread of its own while it builds."""
    _first_kernel()
