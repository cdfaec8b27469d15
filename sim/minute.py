"""The compiled loops of one simulated minute, around the settlement kernel.

A minute's random numbers are drawn from its own numpy Generator, block by block, always in
the same order (so the numbers are those of the minute's own stream, whatever is done with
them), inside one compiled call (:func:`draw_minute_kernel`: numba draws what numpy's calls
would); these loops turn them into gifts and sum the settled gifts into the minute's
figures, each in one pass over the minute and without the temporaries a chain of numpy
operations makes. At full scale (6870万 gifts in 12,960 minutes) that chain cost more than
the draws.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True, inline="always")
def _member(u_seg, u_member, row, seg_start):
    """A segment by cumulative mix ``row``, then a uniform member of it (population laid
    out segment by segment). Returns (segment, donor)."""
    n_seg = row.shape[0]
    s = 0
    while s < n_seg - 1 and u_seg >= row[s]:
        s += 1
    size = seg_start[s + 1] - seg_start[s]
    k = np.int64(u_member * size)
    return s, seg_start[s] + (k if k < size else size - 1)


@njit(cache=True, nogil=True)
def pick_members(u_seg, u_member, mix, seg_start):
    """Donors by the cumulative segment mix ``mix``: for each i, the segment of
    ``u_seg[i]``, then a uniform member of it by ``u_member[i]``."""
    out = np.empty(u_seg.shape[0], dtype=np.int64)
    for i in range(u_seg.shape[0]):
        out[i] = _member(u_seg[i], u_member[i], mix, seg_start)[1]
    return out


@njit(cache=True, nogil=True)
def make_gifts(minute, u_added, p_added, u_pick, spacings, u_one, one_share, z, u_help,
               u_project, mixes, seg_start, level, size_shift, sigma, max_yuan, alias_prob,
               alias, n_projects, t, donor, project, amount, helpee, added):
    """A minute's gifts, in timestamp order, from its random numbers.

    Gift i is one the matching adds if ``u_added[i] < p_added`` (thinning one Poisson
    stream); its donor comes from the segment mix of its kind (``u_pick[:, i]``); its time
    is ``minute`` plus the normalised cumulative sum of ``n + 1`` exponential ``spacings``
    (sorted uniform times); it is a 1-yuan friend-help gift if ``u_one[i] < one_share``,
    and the j-th of those helps the friend drawn from ``u_help[:, j]``, else its size is
    lognormal around its donor's level, whole yuan in [1, ``max_yuan``]: the float32 sum
    ``size_shift + level`` (``size_shift``: the gift-size mu plus the day's shift) plus
    ``sigma z``; its project is drawn by its segment's alias table (one uniform).
    The arithmetic is the numpy chain's it replaces, operation for operation."""
    n = u_added.shape[0]
    total = 0.0
    for i in range(n + 1):
        total += spacings[i]
        if i < n:
            t[i] = total
    seg = np.empty(n, dtype=np.int64)
    for i in range(n):
        t[i] = minute + t[i] / total
        a = u_added[i] < p_added
        added[i] = a
        seg[i], donor[i] = _member(u_pick[0, i], u_pick[1, i], mixes[1 if a else 0], seg_start)
    # The donors' levels in a loop of their own: the loads are independent, so the CPU
    # overlaps their cache misses (in the loop below, each would wait for the one before).
    lv = np.empty(n, dtype=np.float32)
    for i in range(n):
        lv[i] = level[donor[i]]
    shift32 = np.float32(size_shift)
    j = 0
    for i in range(n):
        if u_one[i] < one_share:
            amount[i] = 100
            helpee[i] = _member(u_help[0, j], u_help[1, j], mixes[0], seg_start)[1]
            j += 1
        else:
            log_yuan = np.float64(shift32 + lv[i]) + sigma * z[i]
            yuan = np.rint(math.exp(min(log_yuan, 30.0)))
            if yuan < 1.0:
                yuan = 1.0
            elif yuan > max_yuan:
                yuan = np.float64(max_yuan)
            amount[i] = np.int64(yuan) * 100
            helpee[i] = -1
        s = seg[i]
        x = u_project[i] * n_projects
        k = np.int64(x)
        if k > n_projects - 1:
            k = n_projects - 1
        x -= k
        k += s * n_projects
        project[i] = (k if x < alias_prob[k] else alias[k]) - s * n_projects


@njit(cache=True, nogil=True)
def draw_minute_kernel(rng, minute, lam_quiz, lam_steps, lam_help, lam_base, lam_extra,
                       one_share, mixes, seg_start, level, size_shift, sigma, max_yuan,
                       alias_prob, alias, n_projects):
    """A minute's random part from its stream ``rng`` (a numpy Generator; numba draws the
    same numbers numpy would, and leaves the stream where numpy would), in one compiled
    call instead of a score of numpy calls each holding the interpreter lock.

    In this order: the flower events, donors by the ordinary segment mix (quiz answers,
    step donations, then friend helps: helper and friend), Poisson counts at ``lam_*``; then
    the gifts (Poisson at ``lam_base + lam_extra``) and their numbers, block by block, made
    into gifts by :func:`make_gifts`. Returns (quiz, steps, helper, helped, t, donor,
    project, amount, helpee, added, u) with ``u`` the four uniforms a gift's settlement
    uses, one row each."""
    mix = mixes[0]
    u = rng.random((2, rng.poisson(lam_quiz)))
    quiz = pick_members(u[0], u[1], mix, seg_start)
    u = rng.random((2, rng.poisson(lam_steps)))
    steps = pick_members(u[0], u[1], mix, seg_start)
    u = rng.random((4, rng.poisson(lam_help)))
    helper = pick_members(u[0], u[1], mix, seg_start)
    helped = pick_members(u[2], u[3], mix, seg_start)
    n = rng.poisson(lam_base + lam_extra)
    u_added_pick = rng.random((3, n))
    spacings = rng.standard_exponential(n + 1)
    u_one = rng.random(n)
    z = rng.standard_normal(n)
    n_one = 0
    for i in range(n):
        if u_one[i] < one_share:
            n_one += 1
    u_help = rng.random((2, n_one))
    u_rest = rng.random((5, n))
    t = np.empty(n)
    donor = np.empty(n, dtype=np.int64)
    project = np.empty(n, dtype=np.int64)
    amount = np.empty(n, dtype=np.int64)
    helpee = np.empty(n, dtype=np.int64)
    added = np.empty(n, dtype=np.bool_)
    p_added = lam_extra / (lam_base + lam_extra) if n else 0.0
    make_gifts(minute, u_added_pick[0], p_added, u_added_pick[1:], spacings, u_one, one_share,
               z, u_help, u_rest[0], mixes, seg_start, level, size_shift, sigma, max_yuan,
               alias_prob, alias, n_projects, t, donor, project, amount, helpee, added)
    return quiz, steps, helper, helped, t, donor, project, amount, helpee, added, u_rest[1:]


@njit(cache=True, nogil=True)
def minute_totals(amount, foundation_match, enterprise_match, added, donor, first_gaming,
                  size_lut, size_edges, size_hist):
    """A settled minute's sums: (public fen, Foundation match, enterprise match, matched
    gifts, Foundation-matched gifts, gaming gifts (donor >= ``first_gaming``), public fen of
    the gifts matching added); each gift's size is counted in ``size_hist`` (bin by
    ``size_lut`` below its length, else by the ``size_edges``)."""
    public = fm = em = matched = fmatched = gaming = added_public = 0
    n_lut = size_lut.shape[0]
    for i in range(amount.shape[0]):
        a = amount[i]
        public += a
        fm += foundation_match[i]
        em += enterprise_match[i]
        if foundation_match[i] + enterprise_match[i] != 0:
            matched += 1
        if foundation_match[i] != 0:
            fmatched += 1
        if donor[i] >= first_gaming:
            gaming += 1
        if added[i]:
            added_public += a
        if a < n_lut:
            size_hist[size_lut[a]] += 1
        else:
            size_hist[np.searchsorted(size_edges, a, side="right")] += 1
    return public, fm, em, matched, fmatched, gaming, added_public
