"""The start check: can every step of the plan gather ``min_requests`` in the time it allows? No AWS in here.

The judge promotes a step only once the candidate has had ``judge.min_requests`` requests in it
(``rollout.decision``, rule 5), and judges a step at most ``max_holds + 1`` times, one bake apart;
a hold at the limit then rolls back (or stops). A plan whose candidate share cannot reach
``min_requests`` at the endpoint's present traffic is certain to end there: hours of split
traffic, then a rollback on no evidence about the candidate. Prepare (``rollout.handler``) refuses
such a plan before the first weight changes; ``abtest rollout start``, ``scripts/rollout_replay.py``
and ``benchmarks/judge_scenarios.py`` run this same function.

The estimate is the pool's (candidate and baselines together, the traffic the steps divide)
``Invocations`` per minute over :func:`traffic_window` (the 15 whole minutes that end
``rollout.observe.SETTLE_MINUTES`` before the start), times the step's share.
It is an expected value with no margin: traffic that falls during the rollout can still run a step
into the hold limit, and a plan that just fits reaches ``min_requests`` by the last look only
about half the time. The check only refuses plans that cannot work at today's traffic.

With no traffic at all in the window (a new endpoint, or an idle one) there is nothing to
estimate from: refused with its own reason, unless the plan sets
``allow_without_traffic_estimate`` (the traffic is known to be on its way).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from rollout.observe import PERIOD_SECONDS, SETTLE_MINUTES, SWITCH_MINUTES, floor_minute
from rollout.plan import RolloutPlan

# How long a window Prepare reads the pool's Invocations over, for this check and for capacity sizing.
TRAFFIC_WINDOW = timedelta(minutes=15)
TRAFFIC_WINDOW_MINUTES = int(TRAFFIC_WINDOW.total_seconds()) // PERIOD_SECONDS


def traffic_window(now: datetime) -> tuple[datetime, datetime]:
    """(start, end) of the :data:`TRAFFIC_WINDOW` whose Invocations estimate the traffic: whole
    minutes ending ``SETTLE_MINUTES`` before ``now``. The newest minutes may not be complete in
    CloudWatch yet, which the judge leaves them out for (``rollout.observe``); counted here, they
    would read low and refuse plans that fit."""
    end = floor_minute(now) - timedelta(minutes=SETTLE_MINUTES)
    return end - TRAFFIC_WINDOW, end


_UNREAD_MINUTES = SETTLE_MINUTES + SWITCH_MINUTES
# Products like 13.9 * 36 can land a hair below a whole number; that is not a request fewer.
_DECIMALS = 9


def bake_minutes(bake_seconds: int, max_holds: int) -> int:
    """Whole minutes a step bakes by its last look: ``bake_seconds × (max_holds + 1)``, in minutes."""
    return bake_seconds * (max_holds + 1) // PERIOD_SECONDS


def readable_minutes(bake_seconds: int, max_holds: int) -> int:
    """Minutes of a step's own traffic the judge has read by its last look at the step, at least:
    its bake time less the minutes not yet settled at that look (``rollout.observe.SETTLE_MINUTES``)
    and the minute of the weight switch (``rollout.observe.SWITCH_MINUTES``). Never below 0."""
    return max(0, bake_minutes(bake_seconds, max_holds) - _UNREAD_MINUTES)


@dataclass(frozen=True)
class Shortfall:
    """A step that cannot reach ``min_requests``: ``step`` counts from 1, ``share`` in percent,
    ``requests_per_minute`` is the candidate's estimated rate at that share."""

    step: int
    share: float
    pool_requests_per_minute: float
    requests_per_minute: float
    min_requests: int
    minutes: int


def first_shortfall(plan: RolloutPlan, pool_requests_per_minute: float) -> Shortfall | None:
    """The first step whose candidate share, at ``pool_requests_per_minute``, cannot bring
    ``plan.judge.min_requests`` requests within :func:`readable_minutes`; None when every step can."""
    if pool_requests_per_minute < 0 or not math.isfinite(pool_requests_per_minute):
        raise ValueError(f"pool_requests_per_minute: must be a finite number >= 0 (got {pool_requests_per_minute!r})")
    minutes = readable_minutes(plan.bake_seconds, plan.max_holds)
    for index, share in enumerate(plan.steps):
        rate = pool_requests_per_minute * share / 100
        if round(rate * minutes, _DECIMALS) < plan.judge.min_requests:
            return Shortfall(index + 1, share, pool_requests_per_minute, rate, plan.judge.min_requests, minutes)
    return None


def _advice(plan: RolloutPlan, shortfall: Shortfall) -> str:
    """What would make the step fit: a larger share, a longer bake, more holds, fewer min_requests."""
    if shortfall.requests_per_minute <= 0:
        return "wait for traffic"
    needed_minutes = math.ceil(round(shortfall.min_requests / shortfall.requests_per_minute, _DECIMALS))
    bake_needed = math.ceil((needed_minutes + _UNREAD_MINUTES) * PERIOD_SECONDS / (plan.max_holds + 1))
    holds_needed = math.ceil((needed_minutes + _UNREAD_MINUTES) * PERIOD_SECONDS / plan.bake_seconds) - 1
    options = []
    if shortfall.minutes > 0:
        share_needed = math.ceil(
            round(100 * 100 * shortfall.min_requests / (shortfall.minutes * shortfall.pool_requests_per_minute), 6)
        )
        share_needed_percent = share_needed / 100
        if share_needed_percent <= 100:
            options.append(f"a step {shortfall.step} share of at least {share_needed_percent:g} %")
    options.append(f"bake_seconds of at least {bake_needed}")
    options.append(f"max_holds of at least {holds_needed}")
    options.append(
        f"a judge.min_requests of at most {math.floor(round(shortfall.requests_per_minute * shortfall.minutes, 6))}"
    )
    return "use " + ", or ".join(options) + " (longer plans must still fit the rollout's timeout)"


def refusal(plan: RolloutPlan, pool_requests_per_minute: float) -> str | None:
    """Why the rollout must not start at this traffic, or None when it may (module docstring)."""
    if pool_requests_per_minute == 0:
        if plan.allow_without_traffic_estimate:
            return None
        return (
            f"no traffic to estimate from: {plan.candidate} and {', '.join(plan.baselines)} had no Invocations in "
            f"{TRAFFIC_WINDOW_MINUTES} settled minutes before the start, so whether each step can reach "
            f"judge.min_requests ({plan.judge.min_requests}) is unknown and every step may hold until the hold "
            "limit; start once traffic flows, or set allow_without_traffic_estimate to true if it is about to arrive"
        )
    shortfall = first_shortfall(plan, pool_requests_per_minute)
    if shortfall is None:
        return None
    baked = bake_minutes(plan.bake_seconds, plan.max_holds)
    return (
        f"step {shortfall.step} ({shortfall.share:g} %) cannot gather judge.min_requests: at "
        f"{shortfall.pool_requests_per_minute:,.1f} requests a minute (candidate and baselines, over the "
        f"{TRAFFIC_WINDOW_MINUTES} settled minutes before the start), the candidate would get about "
        f"{shortfall.requests_per_minute:,.1f} a minute, "
        f"{shortfall.min_requests} needed, but the judge reads at most {shortfall.minutes} minute(s) of a step "
        f"(bake_seconds {plan.bake_seconds} × (max_holds {plan.max_holds} + 1) = {baked} minute(s), less "
        f"{SETTLE_MINUTES} not yet settled and {SWITCH_MINUTES} of the weight switch): it would hold until the "
        f"hold limit and then {plan.on_hold_limit} on no evidence; {_advice(plan, shortfall)}"
    )
