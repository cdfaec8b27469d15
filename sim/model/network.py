"""The friendship network over the donor population, made on demand, never stored.

A donor's friends are those of its friends who are in the donor population (the network's
``mean_friends`` is of those, not of all of a user's WeChat contacts). Friend help, flower
collections and teams (一起捐) travel along it (:mod:`sim.model.collections`,
:mod:`sim.model.arrivals`).

The law (ASSUMPTIONS, ``population.network``): degrees are heavy-tailed, a Pareto law of
exponent ``exponent`` above ``mean_friends x (exponent - 1) / exponent``, at most
``max_friends`` (WeChat's friend limit was 5,000 until 2021); friends are drawn in
proportion to their own degree (the Chung-Lu model: who has many friends is many people's
friend), so in- and out-degrees agree in expectation and a donor with 5,000 friends is
found by about 5,000 of them.

How it is made without storing it: within each group of the population (a segment's half,
:class:`sim.model.donors.Donors`, whose members the draws treat alike) a donor's degree is a
function of its position, falling from the first member (``degree``); the ``k``-th friend
of a donor is a pure function of (seed, donor, k): a counter-based hash gives two uniforms,
the first a group in proportion to its size, the second a position by the size-biased law,
closed-form for a Pareto law (``friend``). The network costs no memory (a stored graph at
20 friends a donor would take 7 GB at full scale), is the same for the same seed and
population whatever the policy (common random numbers across a sweep), and a help "along
an edge" is the same edge every time it is drawn.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit


class Network(NamedTuple):
    """The network's law and layout, as the kernels read it (a plain tuple in this order)."""

    key: np.uint64  # the seed's key of every hash
    group_start: np.ndarray  # int64 first member of each group, the honest population last
    d_min: float  # the Pareto law's smallest degree
    alpha: float  # its exponent
    max_degree: int
    leader_q: float  # share of each group, from its first member, that leads teams
    team_key: np.uint64  # the key of the team draws (apart from the friends')

    @classmethod
    def build(cls, seed: int, group_start: np.ndarray, cfg) -> Network:
        """The network of a population laid out by ``group_start`` (``cfg``:
        ``population.network``); its key depends on the seed only."""
        a = float(cfg.exponent)
        d_min = float(cfg.mean_friends) * (a - 1.0) / a
        leader_q = (d_min / float(cfg.team_leader_friends)) ** a
        key = np.uint64(hash_key(seed, 0x6E6574776F726B))  # "network"
        team_key = np.uint64(hash_key(seed, 0x7465616D))  # "team"
        return cls(key, group_start, d_min, a, int(cfg.max_friends), min(1.0, leader_q), team_key)


GAMMA = np.uint64(0x9E3779B97F4A7C15)  # SplitMix64's increment (the golden ratio's bits)


def hash_key(seed: int, salt: int) -> int:
    """A 64-bit key of (seed, salt) for the counter-based draws."""
    x = (seed * 0x9E3779B97F4A7C15 + salt) & 0xFFFFFFFFFFFFFFFF
    return int(mix64(np.uint64(x)))


@njit(cache=True, inline="always")
def mix64(x):
    """SplitMix64's finaliser: a bijection of 64-bit words that mixes every bit."""
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True, inline="always")
def unit(x):
    """A 64-bit word as a uniform in [0, 1) (its top 53 bits)."""
    return np.float64(x >> np.uint64(11)) * (1.0 / 9007199254740992.0)


@njit(cache=True, inline="always")
def uniform(key, a, b):
    """A uniform in [0, 1) that is a pure function of (key, a, b): counter-based."""
    return unit(mix64(key ^ mix64(np.uint64(a) * GAMMA + np.uint64(b))))


@njit(cache=True, inline="always")
def group_of(group_start, d):
    """The group of member ``d`` (binary search over the groups' first members)."""
    lo, hi = 0, group_start.shape[0] - 2
    while lo < hi:
        mid = (lo + hi + 1) >> 1
        if group_start[mid] <= d:
            lo = mid
        else:
            hi = mid - 1
    return lo


@njit(cache=True, inline="always")
def degree_at(net, g, d):
    """Donor ``d``'s friends, ``g`` its group (a caller that knows it spares the search)."""
    key, group_start, d_min, alpha, max_degree, leader_q, team_key = net
    size = group_start[g + 1] - group_start[g]
    q = (d - group_start[g] + 0.5) / size
    # exponent 2 (the default) without a pow: a cheaper sqrt, the same law
    x = d_min / math.sqrt(q) if alpha == 2.0 else d_min * q ** (-1.0 / alpha)
    return np.int64(min(x, np.float64(max_degree)))


@njit(cache=True, inline="always")
def degree(net, d):
    """Donor ``d``'s friends in the population (0 for a gaming identity, beyond it)."""
    if d >= net[1][-1]:
        return np.int64(0)
    return degree_at(net, group_of(net[1], d), d)


@njit(cache=True, inline="always")
def _size_biased(net, u_group, u_pos, q_top):
    """A member drawn in proportion to its degree, among each group's first ``q_top``."""
    key, group_start, d_min, alpha, max_degree, leader_q, team_key = net
    n = group_start[-1]
    j = np.int64(u_group * n)
    if j >= n:
        j = n - 1
    g = group_of(group_start, j)
    size = group_start[g + 1] - group_start[g]
    # density of the position's quantile q in proportion to q**(-1/alpha) on (0, q_top]
    q = q_top * (u_pos * u_pos if alpha == 2.0 else u_pos ** (alpha / (alpha - 1.0)))
    pos = np.int64(q * size)
    if pos >= size:
        pos = size - 1
    return group_start[g] + pos


@njit(cache=True, inline="always")
def friend(net, d, k):
    """Donor ``d``'s ``k``-th friend: the same donor for the same (seed, d, k). One hash,
    its two halves the two uniforms (2**-32 is fine enough for both)."""
    x = mix64(net[0] ^ mix64(np.uint64(d) * GAMMA + np.uint64(k)))
    u_group = np.float64(x >> np.uint64(32)) * (1.0 / 4294967296.0)
    u_pos = (np.float64(x & np.uint64(0xFFFFFFFF)) + 0.5) * (1.0 / 4294967296.0)
    return _size_biased(net, u_group, u_pos, 1.0)


@njit(cache=True, inline="always")
def friend_at(net, g, d, u):
    """One of donor ``d``'s friends (``g`` its group), the ``u``-th along its list (``u``
    uniform)."""
    deg = degree_at(net, g, d)
    k = np.int64(u * deg)
    return friend(net, d, k if k < deg else deg - 1)


@njit(cache=True, inline="always")
def some_friend(net, d, u):
    """One of donor ``d``'s friends, the ``u``-th along its list (``u`` uniform); -1 if it
    has none (a gaming identity)."""
    if d >= net[1][-1]:
        return np.int64(-1)
    return friend_at(net, group_of(net[1], d), d, u)


@njit(cache=True, inline="always")
def team_leader(net, u_group, u_pos):
    """A team leader drawn in proportion to its friends (each group's first ``leader_q``,
    those with at least ``team_leader_friends``): who rallies more friends, gets more of
    them to join."""
    return _size_biased(net, u_group, u_pos, net[5])


@njit(cache=True, inline="always")
def leader_index(net, d):
    """The index of team leader ``d`` among all leaders (their tallies), -1 if it leads
    none: leaders are the first members of each group, numbered group by group."""
    key, group_start, d_min, alpha, max_degree, leader_q, team_key = net
    g = group_of(group_start, d)
    off = np.int64(0)
    for h in range(g):
        off += leaders_in(group_start[h + 1] - group_start[h], leader_q)
    pos = d - group_start[g]
    if pos >= leaders_in(group_start[g + 1] - group_start[g], leader_q):
        return np.int64(-1)
    return off + pos


@njit(cache=True, inline="always")
def leaders_in(size, leader_q):
    """How many of a group of ``size`` lead teams (at least one)."""
    x = np.int64(np.ceil(leader_q * size))
    return x if x > 0 else np.int64(1)


def n_leaders(net: Network) -> int:
    """All team leaders of the population."""
    sizes = np.diff(net.group_start)
    return int(sum(max(1, int(np.ceil(net.leader_q * s))) for s in sizes))


@njit(cache=True)
def degrees(net, ids):
    """The degrees of donors ``ids`` (the tests and the outputs)."""
    out = np.empty(ids.shape[0], dtype=np.int64)
    for i in range(ids.shape[0]):
        out[i] = degree(net, ids[i])
    return out


@njit(cache=True)
def friends_of(net, d, count):
    """The first ``count`` friends of donor ``d`` (the tests)."""
    out = np.empty(count, dtype=np.int64)
    for k in range(count):
        out[k] = friend(net, d, k)
    return out
