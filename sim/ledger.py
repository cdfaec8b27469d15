"""Settlement: the gifts of one time slice, in timestamp order, against pools and caps.

The kernel is one compiled loop over a batch's gifts (numpy arrays, no Python object per
gift). It is sequential on purpose: a pool, a donor's daily cap or a project's cap binds at
the exact gift that reaches it, and that gift gets only what is left. Every fen of a gift
and of its match is added to the gift's own project, and a pool's ``remaining`` never goes
below zero: ``paid + remaining`` stays equal to what was released into it.

:mod:`sim.reference` settles the same gifts one SimPy event per gift through a plain-Python
reading of the same rules; a test holds the two to the identical ledger.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.policies import (
    FLAG_LESS_DEVELOPED,
    FLAG_SMALL_ORG,
    MODE_FIXED,
    MODE_LONGTERM,
    MODE_NONE,
    MODE_RANDOM,
    MODE_TIERED,
    F,
)

# bits of a donor record's ``status`` (sim.donors.DONOR_RECORD)
MATCHED = 1  # a gift of the donor got match
BANNED = 2  # the account broke the rate limit: no more match for the event

_MODE = F["mode"]
_RATIO = F["ratio_bp"]
_P = F["p_ppm"]
_PCH = F["p_chance_ppm"]
_FLO, _FHI = F["frac_lo_bp"], F["frac_hi_bp"]
_MIN = F["min_gift_fen"]
_GCAP, _DCAP, _PCAP = F["gift_cap_fen"], F["donor_day_cap_fen"], F["project_cap_fen"]
_T1, _T1LO, _T1HI = F["tier1_flowers"], F["tier1_lo_bp"], F["tier1_hi_bp"]
_T2, _T2LO, _T2HI = F["tier2_flowers"], F["tier2_lo_bp"], F["tier2_hi_bp"]
_M, _MLO, _MHI = F["mult_flowers"], F["mult_lo"], F["mult_hi"]
_S1, _S1BP, _S2, _S2BP, _S3, _S3BP = (F["size1_fen"], F["size1_bp"], F["size2_fen"],
                                      F["size2_bp"], F["size3_fen"], F["size3_bp"])
_LTY, _LTBP = F["lt_years"], F["lt_bp"]
_EQR, _EQS = F["eq_region_bp"], F["eq_small_bp"]


@njit(cache=True, inline="always")
def _uniform_int(u, lo, hi):
    """An integer in [lo, hi] from a uniform u in [0, 1)."""
    k = lo + np.int64(u * (hi - lo + 1))
    return hi if k > hi else k


@njit(cache=True, inline="always")
def offer(rules, g, amount, flowers, has_chance, u1, u2, u3, tenure, pflags):
    """The match a rule offers for a gift before caps and budgets, and whether it spends a
    friend-help chance, under rule row ``rules[g]`` (indexed in place: taking a row view
    costs a reference count per gift), for a donor of ``tenure`` years and a project with
    flags ``pflags``. Returns (match_fen, spent_chance). Post-event rules offer nothing
    here: they are allocated when the window closes."""
    mode = rules[g, _MODE]
    if mode == MODE_NONE or amount < rules[g, _MIN]:
        return np.int64(0), False
    spent = False
    if mode == MODE_FIXED:
        m = amount * rules[g, _RATIO] // 10_000
    elif mode == MODE_TIERED:
        bp = np.int64(0)
        if rules[g, _S3BP] > 0 and amount >= rules[g, _S3]:
            bp = rules[g, _S3BP]
        elif rules[g, _S2BP] > 0 and amount >= rules[g, _S2]:
            bp = rules[g, _S2BP]
        elif amount >= rules[g, _S1]:
            bp = rules[g, _S1BP]
        m = amount * bp // 10_000
    elif mode == MODE_LONGTERM:
        bp = rules[g, _LTBP] if tenure >= rules[g, _LTY] else rules[g, _RATIO]
        m = amount * bp // 10_000
    elif mode == MODE_RANDOM:
        p = rules[g, _P]
        if rules[g, _PCH] >= 0 and has_chance:
            p = rules[g, _PCH]
            spent = True
        # computed either way and then kept or not: the draw's outcome is a coin toss the
        # branch predictor loses (2026-11-22, 300 busy minutes replayed, in-process A/B:
        # 95 -> 82 ns a gift)
        m = amount * _uniform_int(u2, rules[g, _FLO], rules[g, _FHI]) // 10_000
        m = m if u1 * 1_000_000.0 < p else np.int64(0)
    else:
        m = np.int64(0)
    if m > 0:
        if rules[g, _M] > 0 and flowers >= rules[g, _M]:
            m = m * _uniform_int(u3, rules[g, _MLO], rules[g, _MHI])
        elif rules[g, _T2] > 0 and flowers >= rules[g, _T2]:
            m = m + m * _uniform_int(u3, rules[g, _T2LO], rules[g, _T2HI]) // 10_000
        elif rules[g, _T1] > 0 and flowers >= rules[g, _T1]:
            m = m + m * _uniform_int(u3, rules[g, _T1LO], rules[g, _T1HI]) // 10_000
        w = np.int64(10_000)
        if pflags & FLAG_LESS_DEVELOPED:
            w += rules[g, _EQR]
        if pflags & FLAG_SMALL_ORG:
            w += rules[g, _EQS]
        if w != 10_000:
            m = m * w // 10_000
        if rules[g, _GCAP] > 0 and m > rules[g, _GCAP]:
            m = rules[g, _GCAP]
    return m, spent


@njit(cache=True, inline="always")
def _bound(m, cap, used):
    """m limited by what is left of a cap (cap 0 means none)."""
    if cap > 0 and m > cap - used:
        m = cap - used
    return m if m > 0 else np.int64(0)


@njit(cache=True, nogil=True)
def settle_batch(
    t, donor, project, amount, helpee, u1, u2, u3, u4,
    flowers, chances, helps_today, match_today, gifts_made, tenure, kind, batch_gifts,
    status, proj_public, proj_count, proj_fmatch, proj_ematch, proj_flags, proj_frozen,
    proj_detect, pool_open, pool_close, pool_remaining, pool_paid, pool_depleted, pool_gamed,
    rules, global_pools, live_global, gp_paid, live_ptr, live_link, live_pool, link_paid,
    flowers_per_gift, chances_per_help_gift, max_helps, rate_limit, freeze_after, detect_ppm,
    out_fmatch, out_ematch, out_epool, out_ok,
):
    """Settle one batch of gifts, already in timestamp order, updating all state in place.

    First the platform's checks: an account's gifts beyond ``rate_limit`` in the batch (a
    minute) are flagged and the account is banned from match for the rest of the event
    (the ``BANNED`` bit of ``status``; 2017: machine accounts; "a year's ban"); any gift is
    flagged with probability ``detect_ppm[kind of its donor]`` (index 0: an honest donor's
    false positive); a project with ``freeze_after`` flags gets no more match. Each gift
    that passes may be matched by every open Foundation (global) pool with money left, and
    by the first open pool linked to its project (an enterprise) with money left; match
    paid on a gaming donor's gift is counted in ``pool_gamed``. Then the gift itself is
    credited: its money to its project, a flower to its donor, and, for a 1-yuan
    friend-help gift, chances to the friend it helps (``helpee`` >= 0), at most
    ``max_helps`` helps a friend a day.
    ``out_ok`` says which gifts passed the checks (post-event rules allocate over those).

    The pools the loops look at are those of the live lists (:func:`sim.pools.live_lists`):
    ``live_global`` the positions in ``global_pools`` of the Foundation pools that may pay
    in the batch, ``live_ptr`` a CSR over projects of the links that may (``live_link`` the
    link, ``live_pool`` its pool), in priority order. Any superset of the pools that can pay
    gives the same result (each is checked gift by gift); the lists only spare the loops
    the pools that are spent, closed or not yet released: at full scale a gift's project
    had 10 links on average, and one in four gifts a link that could pay.

    Returns the number of changes in which projects can be matched (a pool emptied, a
    project reaching a pool's cap or frozen), so the caller knows when to refresh.
    """
    changes = 0
    n = t.shape[0]
    for i in range(n):
        d = donor[i]
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
        if limited or u4[i] * 1_000_000.0 < detect_ppm[k_d]:
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
                m, spent = offer(rules, g, a, f, has_chance and not spent_chance, u1[i], u2[i],
                                 u3[i], ten, pf)
                spent_chance = spent_chance or spent
                m = _bound(m, rules[g, _DCAP], match_today[d])
                m = _bound(m, rules[g, _PCAP], gp_paid[k, p])
                m = min(m, pool_remaining[g])
                if m > 0:
                    pool_remaining[g] -= m
                    pool_paid[g] += m
                    gp_paid[k, p] += m
                    if k_d > 0:
                        pool_gamed[g] += m
                    if rules[g, _DCAP] > 0:
                        match_today[d] += m
                    fm += m
                    if rules[g, _PCAP] > 0 and gp_paid[k, p] >= rules[g, _PCAP]:
                        changes += 1
                    if pool_remaining[g] == 0:
                        pool_depleted[g] = ti
                        changes += 1
            for q in range(live_ptr[p], live_ptr[p + 1]):
                j = live_link[q]
                e = live_pool[q]
                if pool_remaining[e] <= 0 or ti < pool_open[e] or ti >= pool_close[e]:
                    continue
                m, spent = offer(rules, e, a, f, has_chance and not spent_chance, u1[i], u2[i],
                                 u3[i], ten, pf)
                spent_chance = spent_chance or spent
                m = _bound(m, rules[e, _DCAP], match_today[d])
                m = _bound(m, rules[e, _PCAP], link_paid[j])
                m = min(m, pool_remaining[e])
                if m > 0:
                    pool_remaining[e] -= m
                    pool_paid[e] += m
                    link_paid[j] += m
                    if k_d > 0:
                        pool_gamed[e] += m
                    if rules[e, _DCAP] > 0:
                        match_today[d] += m
                    em = m
                    ep = e
                    if rules[e, _PCAP] > 0 and link_paid[j] >= rules[e, _PCAP]:
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
        h = helpee[i]
        if h >= 0 and helps_today[h] < max_helps:
            helps_today[h] += 1
            chances[h] += chances_per_help_gift
    if rate_limit > 0:
        for i in range(t.shape[0]):
            batch_gifts[donor[i]] = 0
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


@njit(cache=True, nogil=True)
def gather_records(records, kind, tenure, first_kind, ids):
    """The records of population ids ``ids`` (a donor's 16-byte record as two int64
    words), copied out of the population table into a small table of their own, with
    their ``kind`` and ``tenure``. Returns (records, kind, tenure) of the rows.

    The settlement loop then reads and writes records that sit together in the cache
    instead of one at random in 720 MB (each a cache and a page-translation miss it waits
    for); this loop's loads are independent, so their misses overlap. ``kind`` is read
    only for ids from ``first_kind`` on (those before are honest donors, kind 0), and
    ``tenure`` only if it is not empty (else 0): a read of each for every row cost as much
    as the records' own (two more page-translation misses)."""
    m = ids.shape[0]
    local = np.empty((m, 2), dtype=records.dtype)
    local_kind = np.zeros(m, dtype=kind.dtype)
    local_tenure = np.zeros(m, dtype=tenure.dtype)
    with_tenure = tenure.shape[0] > 0
    for k in range(m):  # both loads before the stores, which could alias them
        r = ids[k]
        w0, w1 = records[r, 0], records[r, 1]
        local[k, 0], local[k, 1] = w0, w1
        if r >= first_kind:
            local_kind[k] = kind[r]
        if with_tenure:
            local_tenure[k] = tenure[r]
    return local, local_kind, local_tenure


@njit(cache=True, nogil=True)
def restore_donors(records, local, ids):
    """Write a batch's records back into the population table (see gather_records)."""
    for k in range(ids.shape[0]):
        r = ids[k]
        w0, w1 = local[k, 0], local[k, 1]
        records[r, 0], records[r, 1] = w0, w1


@njit(cache=True, nogil=True)
def flower_events(quiz, steps, helper, helpee, flowers, helps_today, chances, per_quiz,
                  per_step, per_help, max_helps, chances_per_help):
    """A minute's events that are not gifts, in one pass: flowers to each donor who
    answered a quiz (``per_quiz``), made a step donation (``per_step``) or helped a friend
    (``per_help``), a donor as often as listed; and each help gives the friend helped
    (``helpee``) ``chances_per_help`` chances, at most ``max_helps`` helps a friend a day
    (sending flowers, answering a quiz for a friend). Returns the flowers earned."""
    for i in range(quiz.shape[0]):
        flowers[quiz[i]] += per_quiz
    for i in range(steps.shape[0]):
        flowers[steps[i]] += per_step
    for i in range(helper.shape[0]):
        flowers[helper[i]] += per_help
    for i in range(helpee.shape[0]):
        h = helpee[i]
        if helps_today[h] < max_helps:
            helps_today[h] += 1
            chances[h] += chances_per_help
    return (quiz.shape[0] * per_quiz + steps.shape[0] * per_step
            + helper.shape[0] * per_help)


@njit(cache=True, nogil=True)
def giving_counts(gifts_made, status, n_honest):
    """In one pass over the donor records: the records that made a gift, and of the first
    ``n_honest`` (the honest donors) those that made one and those of them matched."""
    gave = gave_honest = matched_honest = 0
    for i in range(gifts_made.shape[0]):
        if gifts_made[i] > 0:
            gave += 1
            if i < n_honest:
                gave_honest += 1
                if status[i] & MATCHED:
                    matched_honest += 1
    return gave, gave_honest, matched_honest


@njit(cache=True)
def _first_kernel():
    return 0


def start_kernels() -> None:
    """Start numba's runtime, which the first call of any compiled function in a process
    does (0.7-0.8 s measured, 2026-11-22, most of it numba's registries); the engine calls
    this on a thread of its own while it builds the campaign."""
    _first_kernel()


@njit(cache=True, nogil=True)
def reset_daily(match_today, chances, helps_today):
    """Zero the daily counters in one pass over the donor records (three ``fill`` calls
    would stream the 720 MB table three times)."""
    for i in range(match_today.shape[0]):
        match_today[i] = 0
        chances[i] = 0
        helps_today[i] = 0


@njit(cache=True, nogil=True)
def alias_table(w):
    """Walker/Vose alias table for drawing index i with probability w[i] / sum(w):
    take k = floor(u n) and keep it if the fraction of u n is below ``prob[k]``, else
    ``alias[k]``. Returns (prob, alias)."""
    n = w.shape[0]
    prob = w * (n / w.sum())
    alias = np.arange(n)
    small = np.empty(n, dtype=np.int64)
    large = np.empty(n, dtype=np.int64)
    ns = nl = 0
    for i in range(n):
        if prob[i] < 1.0:
            small[ns] = i
            ns += 1
        else:
            large[nl] = i
            nl += 1
    while ns > 0 and nl > 0:
        ns -= 1
        s = small[ns]
        g = large[nl - 1]
        alias[s] = g
        prob[g] -= 1.0 - prob[s]
        if prob[g] < 1.0:
            nl -= 1
            small[ns] = g
            ns += 1
    for i in range(nl):
        prob[large[i]] = 1.0
    for i in range(ns):
        prob[small[i]] = 1.0
    return prob, alias
