"""A progressive rollout's plan: which variant gains traffic, in which steps, judged how. No AWS in here.

A rollout moves traffic from one or more *baseline* variants to a *candidate* variant in steps of
candidate share (by default 10 → 25 → 50 → 100 %). After each step it waits ``bake_seconds``, then
a judge (``rollout.decision``) promotes to the next step, holds for another bake, or rolls back.

The plan arrives as JSON (a Step Functions execution input); :func:`parse_plan` turns it into
frozen objects once, against the endpoint's live variants, and rejects anything doubtful with a
message naming the field, *before* a single weight changes. Numbers may arrive as JSON numbers or
as numeric strings (CloudFormation and the console send strings).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from endpoint_weights.validation import finite_number

OnHoldLimit = Literal["rollback", "stop"]
ON_HOLD_LIMITS: tuple[OnHoldLimit, ...] = ("rollback", "stop")

DEFAULT_STEPS: tuple[float, ...] = (10.0, 25.0, 50.0, 100.0)
# 15 minutes, not 10: at 1,000 requests a minute the judge needs about 15,000 requests a bake to
# reach the power the project targets (benchmarks/judge_scenarios.py, 1,000 runs each): a 2× error
# rate rolled back before the 50 % step 80 % of the time with 15-minute bakes against 50 % with 10,
# p99 +50 % within two steps 82 % against 60 % (since the heavy-tail rank offset; 94 % against 75 %
# before it: docs/benchmarks.md; 82 % only just meets the target, and at 800 a minute it is 61 %).
# A default plan bakes 4 steps × (max_holds + 1) × 900 s = 4 hours at most, far inside the state
# machine's 7-day timeout; a Wait takes up to 99,999,999 s, and the history's events do not depend on
# the bake.
DEFAULT_BAKE_SECONDS = 900
DEFAULT_MAX_HOLDS = 3
DEFAULT_ON_HOLD_LIMIT: OnHoldLimit = "rollback"

PLAN_KEYS = frozenset(
    {
        "candidate",
        "baselines",
        "steps",
        "bake_seconds",
        "max_holds",
        "on_hold_limit",
        "judge",
        "allow_without_traffic_estimate",
    }
)
JUDGE_KEYS = frozenset({"alpha", "min_requests", "latency_tolerance", "max_error_rate_increase", "srm_p_value"})

# Step Functions limits a plan must respect, checked before any weight changes:
# - a Wait state waits at most 99,999,999 seconds ("Seconds ... must be a positive integer,
#   maximum 99999999": https://docs.aws.amazon.com/step-functions/latest/dg/state-wait.html);
# - an execution's history holds at most 25,000 events, beyond which the execution FAILS
#   ("Maximum execution history size": https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html).
MAX_WAIT_SECONDS = 99_999_999
MAX_HISTORY_EVENTS = 25_000

# History events a state writes, by state type, at most (the names are botocore's
# HistoryEventType enum: https://docs.aws.amazon.com/step-functions/latest/apireference/API_HistoryEvent.html).
# A Task writes Entered, Scheduled, Started, (Submitted,) Succeeded or Failed, Exited; every retry
# adds Failed, Scheduled, Started (and Submitted) again. Counted high on purpose: a plan is refused
# when it *could* exceed the limit.
HISTORY_EVENTS_BY_STATE_TYPE: Mapping[str, tuple[str, ...]] = {
    "Task": ("TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSubmitted", "TaskSucceeded", "TaskStateExited"),
    "Wait": ("WaitStateEntered", "WaitStateExited"),
    "Pass": ("PassStateEntered", "PassStateExited"),
    "Choice": ("ChoiceStateEntered", "ChoiceStateExited"),
    "Succeed": ("SucceedStateEntered", "SucceedStateExited", "ExecutionSucceeded"),
    "Fail": ("FailStateEntered", "ExecutionFailed"),
}
HISTORY_EVENTS_PER_RETRY: tuple[str, ...] = ("TaskFailed", "TaskScheduled", "TaskStarted", "TaskSubmitted")
HISTORY_EVENTS_TO_START: tuple[str, ...] = ("ExecutionStarted",)

# The rollout state machine's loops, in history events at most, retries included: counted from
# its definition (constructs_lib/rollout.py) with the tables above. tests/constructs_lib/test_rollout.py
# recounts them from the synthesized definition, so a changed definition cannot leave them stale.
HISTORY_EVENTS_PER_STEP = 74  # Check lock (18: 3 retries), Apply step (54: 12 retries), Mark step start (2)
HISTORY_EVENTS_PER_JUDGEMENT = 86  # Bake (2), Judge (54), Announce (14), Notify (14), Route (2)
HISTORY_EVENTS_OUTSIDE_LOOPS = 141  # ExecutionStarted (1), Prepare (54), the longest way to an end (86)


def worst_case_history_events(step_count: int, max_holds: int) -> int:
    """History events a rollout of ``step_count`` steps with ``max_holds`` could write: every step
    judged ``max_holds + 1`` times, every task retried to its limit."""
    judgements = step_count * (max_holds + 1)
    return (
        HISTORY_EVENTS_OUTSIDE_LOOPS + step_count * HISTORY_EVENTS_PER_STEP + judgements * HISTORY_EVENTS_PER_JUDGEMENT
    )


# Weights are rounded to this many decimals: SageMaker takes floats, and a person reads them.
WEIGHT_DECIMALS = 4
# Products like 1000 * 10 / 100 / 50 can land a hair above a whole number; that is not a request more.
_CEIL_DECIMALS = 9


class InvalidPlan(ValueError):
    """The rollout plan cannot be run as given; nothing was changed."""


@dataclass(frozen=True)
class JudgeSettings:
    """How the judge decides after each bake (see ``rollout.decision.judge``).

    - ``alpha`` (default 0.05): the chance that the judge ever rolls back a candidate that is no
      worse, however many minutes and steps it watches, is at most alpha: the error-rate and the
      latency test each run at alpha/2 (``rollout.decision.per_test_alpha``; anytime-valid,
      ``rollout.concurrent_errors``, ``rollout.concurrent_latency``). Exact for the error test
      with independent errors; under bursts it rests on test B's asymptotics (see the README).
    - ``min_requests`` (default 500): requests the candidate must get *in the current step* before
      the step can be promoted; fewer → hold.
    - ``latency_tolerance`` (default 1.25): the candidate's p99 latency may be at most this multiple of
      the baselines' p99 in the same minutes (on average over the minutes, in log terms).
    - ``max_error_rate_increase`` (default None): the candidate's 5XX rate above the baselines' at the
      same minutes (a fraction: 0.002 is 0.2 percentage points) tolerated even when the tests find the
      candidate worse. None rolls back on any statistically significant increase.
    - ``srm_p_value`` (default 0.001): a sample-ratio-mismatch p-value below this holds the rollout,
      because the split is not what the weights say; 0 turns the check off.
    """

    alpha: float = 0.05
    min_requests: int = 500
    latency_tolerance: float = 1.25
    max_error_rate_increase: float | None = None
    srm_p_value: float = 0.001


@dataclass(frozen=True)
class RolloutPlan:
    """A validated plan. ``steps`` are the candidate's share, in percent, of the traffic that the
    candidate and the baselines had together before the rollout; the last step is always 100.

    - ``bake_seconds`` (default 900): wait after each weight change before judging.
    - ``max_holds`` (default 3): how many times one step may be judged "hold" and baked again
      before ``on_hold_limit`` applies.
    - ``on_hold_limit`` (default "rollback"): "rollback" restores the weights from before the
      rollout; "stop" leaves the current step's weights in place for a person to decide.
    - ``allow_without_traffic_estimate`` (default False): start even when the endpoint had no
      traffic in the start check's window (``rollout.traffic_check``), e.g. a new endpoint whose
      traffic is about to arrive. It does not override a too-low estimate: with traffic to measure,
      a plan that cannot gather ``min_requests`` is refused whatever this says.
    """

    candidate: str
    baselines: tuple[str, ...]
    steps: tuple[float, ...] = DEFAULT_STEPS
    bake_seconds: int = DEFAULT_BAKE_SECONDS
    max_holds: int = DEFAULT_MAX_HOLDS
    on_hold_limit: OnHoldLimit = DEFAULT_ON_HOLD_LIMIT
    judge: JudgeSettings = field(default_factory=JudgeSettings)
    allow_without_traffic_estimate: bool = False


def _number(value: Any, where: str) -> float:
    """A finite number from a JSON number or a numeric string; booleans are not numbers."""
    return finite_number(value, where, InvalidPlan)


def _whole(value: Any, where: str) -> int:
    number = _number(value, where)
    if number != int(number):
        raise InvalidPlan(f"{where}: must be a whole number (got {value!r})")
    return int(number)


def _reject_unknown(raw: Mapping[str, Any], allowed: frozenset[str], where: str) -> None:
    unknown = sorted(str(key) for key in raw if key not in allowed)
    if unknown:
        raise InvalidPlan(f"{where}: unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")


def _variant(value: Any, where: str, live: Sequence[str]) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidPlan(f"{where}: must be a variant name (got {value!r})")
    if value not in live:
        raise InvalidPlan(f"{where}: {value!r} is not a variant of the endpoint; its variants are {', '.join(live)}")
    return value


def _baselines(raw: Mapping[str, Any], candidate: str, live: Sequence[str]) -> tuple[str, ...]:
    if "baselines" not in raw:
        baselines = tuple(name for name in live if name != candidate)
        if not baselines:
            raise InvalidPlan(f"baselines: the endpoint has no variant besides the candidate {candidate!r}")
        return baselines
    value = raw["baselines"]
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InvalidPlan(f"baselines: must be a list of variant names (got {value!r})")
    if not value:
        raise InvalidPlan("baselines: must name at least one variant to take traffic from (or be left out: all others)")
    names = tuple(_variant(name, "baselines", live) for name in value)
    if candidate in names:
        raise InvalidPlan(f"baselines: the candidate {candidate!r} cannot also be a baseline")
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InvalidPlan(f"baselines: listed more than once: {', '.join(duplicates)}")
    return names


def _steps(value: Any) -> tuple[float, ...]:
    if isinstance(value, str) or not isinstance(value, Sequence) or not value:
        raise InvalidPlan(f"steps: must be a non-empty list of candidate shares in percent (got {value!r})")
    steps = tuple(_number(step, f"steps[{index}]") for index, step in enumerate(value))
    for index, step in enumerate(steps):
        if step <= 0 or step > 100:
            raise InvalidPlan(f"steps[{index}]: a candidate share must be > 0 and <= 100 percent (got {step:g})")
    for index in range(1, len(steps)):
        if steps[index] <= steps[index - 1]:
            raise InvalidPlan(
                f"steps: must be strictly increasing; steps[{index}] = {steps[index]:g} "
                f"follows {steps[index - 1]:g} (got {', '.join(f'{s:g}' for s in steps)})"
            )
    if steps[-1] != 100:
        # A rollout that ends below 100 % would leave the endpoint in an in-between split that no
        # one owns; holding a fixed split is an A/B test, and the weights parameters do that.
        raise InvalidPlan(f"steps: the last step must be 100 (the candidate takes over); got {steps[-1]:g}")
    return steps


def _judge(raw: Any) -> JudgeSettings:
    if raw is None:
        return JudgeSettings()
    if not isinstance(raw, Mapping):
        raise InvalidPlan(f"judge: must be an object (got {raw!r})")
    _reject_unknown(raw, JUDGE_KEYS, "judge")
    defaults = JudgeSettings()
    alpha = _number(raw.get("alpha", defaults.alpha), "judge.alpha")
    if not 0 < alpha < 1:
        raise InvalidPlan(f"judge.alpha: must be > 0 and < 1 (got {alpha:g})")
    min_requests = _whole(raw.get("min_requests", defaults.min_requests), "judge.min_requests")
    if min_requests < 1:
        # With 0 a step could be promoted on no evidence at all.
        raise InvalidPlan(f"judge.min_requests: must be >= 1 (got {min_requests})")
    tolerance = _number(raw.get("latency_tolerance", defaults.latency_tolerance), "judge.latency_tolerance")
    if tolerance < 1:
        raise InvalidPlan(f"judge.latency_tolerance: must be >= 1, a multiple of the baseline p99 (got {tolerance:g})")
    increase_raw = raw.get("max_error_rate_increase", defaults.max_error_rate_increase)
    increase = None if increase_raw is None else _number(increase_raw, "judge.max_error_rate_increase")
    if increase is not None and not 0 <= increase < 1:
        raise InvalidPlan(
            f"judge.max_error_rate_increase: must be >= 0 and < 1, an error-rate fraction (got {increase:g})"
        )
    srm = _number(raw.get("srm_p_value", defaults.srm_p_value), "judge.srm_p_value")
    if not 0 <= srm < 1:
        raise InvalidPlan(f"judge.srm_p_value: must be >= 0 and < 1 (got {srm:g})")
    return JudgeSettings(
        alpha=alpha,
        min_requests=min_requests,
        latency_tolerance=tolerance,
        max_error_rate_increase=increase,
        srm_p_value=srm,
    )


def _check_history(step_count: int, max_holds: int) -> None:
    """Refuse a plan whose execution could outgrow the 25,000-event history: it would FAIL
    mid-rollout with the weights half-shifted."""
    events = worst_case_history_events(step_count, max_holds)
    if events <= MAX_HISTORY_EVENTS:
        return
    room = MAX_HISTORY_EVENTS - HISTORY_EVENTS_OUTSIDE_LOOPS - step_count * HISTORY_EVENTS_PER_STEP
    holds_that_fit = room // (step_count * HISTORY_EVENTS_PER_JUDGEMENT) - 1
    advice = (
        f"with {step_count} steps, max_holds may be at most {holds_that_fit}"
        if holds_that_fit >= 0
        else "use fewer steps"
    )
    raise InvalidPlan(
        f"max_holds: {step_count} steps judged up to {max_holds + 1} times each could write {events:,} "
        f"execution history events, beyond Step Functions' limit of {MAX_HISTORY_EVENTS:,} (the execution "
        f"would fail mid-rollout); {advice}"
    )


def _check_duration(
    step_count: int, max_holds: int, bake_seconds: int, max_duration_seconds: float, task_times: TaskTimes
) -> None:
    """Refuse a plan whose bakes, plus its weight changes at their slowest, could outlast the
    execution's timeout."""
    baking = step_count * (max_holds + 1) * bake_seconds
    changing = step_count * task_times.apply_seconds + task_times.restore_seconds
    if baking + changing > max_duration_seconds:
        tasks = (
            f" plus up to {changing:,.0f} s for its {step_count} weight changes and a restore at their slowest"
            if changing
            else ""
        )
        raise InvalidPlan(
            f"bake_seconds: {step_count} steps judged up to {max_holds + 1} times each, {bake_seconds} s per "
            f"bake, could bake for {baking:,} s{tasks}, longer than the rollout's timeout of "
            f"{max_duration_seconds:,.0f} s (the execution would time out mid-rollout); shorten bake_seconds "
            "or lower max_holds"
        )


@dataclass(frozen=True)
class TaskTimes:
    """The slowest a weight-changing task of the state machine can be, retries and their waits
    included (the construct derives them from the set-weights timeout and the tasks' retriers).

    :param apply_seconds: one "Apply step"; default 0.
    :param restore_seconds: one restore at the end (a rollback); default 0.
    """

    apply_seconds: float = 0
    restore_seconds: float = 0


def parse_plan(
    raw: Mapping[str, Any],
    live_variants: Mapping[str, float],
    *,
    max_duration_seconds: float | None = None,
    task_times: TaskTimes | None = None,
) -> RolloutPlan:
    """Validate ``raw`` against the endpoint's live variants (name → current weight).

    Keys: ``candidate`` (required); ``baselines`` (default: every other live variant);
    ``steps`` (default [10, 25, 50, 100]; each > 0 and <= 100, strictly increasing, the last 100);
    ``bake_seconds`` (default 900, > 0, at most a Wait state's 99,999,999); ``max_holds`` (default
    3, >= 0; with the steps, small enough that the execution's history cannot outgrow 25,000
    events: :func:`worst_case_history_events`); ``on_hold_limit`` ("rollback" by default, or
    "stop"); ``judge`` (see :class:`JudgeSettings`); ``allow_without_traffic_estimate`` (default
    false; see :class:`RolloutPlan`). Any other key is an error, so a misspelt
    setting cannot silently fall back to its default.

    ``max_duration_seconds`` (default None: not checked): the execution's timeout; a plan whose
    bakes (steps × (max_holds + 1) × bake_seconds) plus its weight changes at their slowest
    (steps × ``task_times.apply_seconds`` + ``task_times.restore_seconds``; default None: 0) could take
    longer is refused.
    """
    if not isinstance(raw, Mapping):
        raise InvalidPlan(f"rollout plan: must be an object (got {type(raw).__name__})")
    _reject_unknown(raw, PLAN_KEYS, "rollout plan")
    live = list(live_variants)
    if "candidate" not in raw:
        raise InvalidPlan("candidate: required (the variant that gains traffic)")
    candidate = _variant(raw["candidate"], "candidate", live)
    baselines = _baselines(raw, candidate, live)
    steps = _steps(raw.get("steps", list(DEFAULT_STEPS)))
    bake_seconds = _whole(raw.get("bake_seconds", DEFAULT_BAKE_SECONDS), "bake_seconds")
    if bake_seconds <= 0:
        raise InvalidPlan(f"bake_seconds: must be > 0 (got {bake_seconds})")
    if bake_seconds > MAX_WAIT_SECONDS:
        raise InvalidPlan(
            f"bake_seconds: must be <= {MAX_WAIT_SECONDS:,}, the longest a Step Functions Wait state waits "
            f"(got {bake_seconds:,})"
        )
    max_holds = _whole(raw.get("max_holds", DEFAULT_MAX_HOLDS), "max_holds")
    if max_holds < 0:
        raise InvalidPlan(f"max_holds: must be >= 0 (got {max_holds})")
    _check_history(len(steps), max_holds)
    if max_duration_seconds is not None:
        _check_duration(len(steps), max_holds, bake_seconds, max_duration_seconds, task_times or TaskTimes())
    on_hold_limit = raw.get("on_hold_limit", DEFAULT_ON_HOLD_LIMIT)
    if on_hold_limit not in ON_HOLD_LIMITS:
        raise InvalidPlan(f"on_hold_limit: must be one of {', '.join(ON_HOLD_LIMITS)} (got {on_hold_limit!r})")
    allow = raw.get("allow_without_traffic_estimate", False)
    if not isinstance(allow, bool):
        raise InvalidPlan(f"allow_without_traffic_estimate: must be true or false (got {allow!r})")
    plan = RolloutPlan(
        candidate=candidate,
        baselines=baselines,
        steps=steps,
        bake_seconds=bake_seconds,
        max_holds=max_holds,
        on_hold_limit=cast(OnHoldLimit, on_hold_limit),
        judge=_judge(raw.get("judge")),
        allow_without_traffic_estimate=allow,
    )
    _pool(live_variants, plan)  # fails now, not at the first step, when there is no traffic to shift
    return plan


def _pool(original: Mapping[str, float], plan: RolloutPlan) -> float:
    """The weight the candidate and the baselines carry together; checks every weight on the way."""
    for name, weight in original.items():
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) or weight < 0:
            raise InvalidPlan(f"weight of {name}: must be a finite number >= 0 (got {weight!r})")
    missing = [name for name in (plan.candidate, *plan.baselines) if name not in original]
    if missing:
        raise InvalidPlan(f"weights: no weight for {', '.join(missing)}; given for {', '.join(original)}")
    pool = sum(original[name] for name in (plan.candidate, *plan.baselines))
    if pool <= 0:
        raise InvalidPlan(
            f"the candidate {plan.candidate} and baselines {', '.join(plan.baselines)} all have weight 0: "
            "there is no traffic to shift"
        )
    return float(pool)


def step_weights(original: Mapping[str, float], plan: RolloutPlan, share_percent: float) -> dict[str, float]:
    """Every variant's weight, in percent of all traffic, with the candidate at ``share_percent``.

    ``original`` are the weights from *before* the rollout (not the previous step's), so every
    step is computed from the same starting point and a rollback restores exactly ``original``.

    The candidate and the baselines together keep the share of traffic they had in ``original``
    (their "pool"); within it, the candidate gets ``share_percent`` and the baselines split the
    rest in proportion to their original weights (equally when those are all 0). Variants that
    are neither keep their original share of traffic untouched: a rollout from ``B`` to ``C``
    never moves ``A``'s traffic. With only the candidate and baselines live, the candidate's
    weight is exactly ``share_percent``. Weights are rounded to 4 decimals; SageMaker weights are
    relative, so a sum of 99.9999 routes the same as 100.
    """
    share = _number(share_percent, "share_percent")
    if not 0 <= share <= 100:
        raise InvalidPlan(f"share_percent: must be >= 0 and <= 100 (got {share:g})")
    pool = _pool(original, plan)
    total = float(sum(original.values()))
    pool_percent = 100.0 * pool / total
    baseline_total = sum(original[name] for name in plan.baselines)
    weights: dict[str, float] = {}
    for name, weight in original.items():
        if name == plan.candidate:
            value = pool_percent * share / 100
        elif name in plan.baselines:
            fraction = weight / baseline_total if baseline_total > 0 else 1 / len(plan.baselines)
            value = pool_percent * (100 - share) / 100 * fraction
        else:
            value = 100.0 * weight / total
        weights[name] = round(value, WEIGHT_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0
    return weights


def required_instances(
    invocations_per_minute_total: float, share_percent: float, invocations_per_instance_per_minute: float, current: int
) -> int:
    """Instances the candidate needs to serve ``share_percent`` of ``invocations_per_minute_total``.

    ``invocations_per_minute_total`` is the traffic being shifted (candidate and baselines
    together); ``invocations_per_instance_per_minute`` what one instance serves comfortably (for
    example the target value of the variant's autoscaling policy). Never fewer than ``current``
    (scaling in during a rollout only adds risk) and never fewer than 1.
    """
    total = _number(invocations_per_minute_total, "invocations_per_minute_total")
    share = _number(share_percent, "share_percent")
    per_instance = _number(invocations_per_instance_per_minute, "invocations_per_instance_per_minute")
    if total < 0:
        raise ValueError(f"invocations_per_minute_total: must be >= 0 (got {total:g})")
    if not 0 <= share <= 100:
        raise ValueError(f"share_percent: must be >= 0 and <= 100 (got {share:g})")
    if per_instance <= 0:
        raise ValueError(f"invocations_per_instance_per_minute: must be > 0 (got {per_instance:g})")
    needed = math.ceil(round(total * share / 100 / per_instance, _CEIL_DECIMALS))
    return max(needed, int(current), 1)
