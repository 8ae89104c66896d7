"""The rollout judge: a pure function of the per-minute history since the rollout began. No AWS in here.

``rollout.observe`` builds the history from CloudWatch; this module only decides, so any decision
can be re-run from its inputs (``scripts/rollout_replay.py --judge-batch``) and the benchmarks run
the very same function. Nothing is carried between looks: every test is re-run over the whole
history, and "crossed its boundary at any minute so far" is what makes it valid at every look.

Rules, first match wins (:func:`judge`):

1. any of the candidate's alarms is in ALARM → rollback;
2. the candidate's 5XX rate is higher than the baselines' in the same minutes
   (``rollout.concurrent_errors``: both an exact conditional-binomial mixture test and a
   self-normalized test on 5-minute blocks of excess errors must agree), by more than
   ``max_error_rate_increase`` if set (a filter on the point estimate, not a test) → rollback;
3. the candidate's p99 latency is more than ``latency_tolerance`` × the baselines' in the same
   minutes (``rollout.concurrent_latency``) → rollback;
4. the current step's split fails the sample-ratio-mismatch check → hold (``srm_check.srm_stats.srm_test``,
   the scheduled SRM check's exact test, so a 1 % canary's false holds stay below ``srm_p_value``);
5. the candidate got fewer than ``min_requests`` requests in the current step → hold;
6. otherwise → promote, or complete at the plan's last step.

**α is split once, here** (:func:`per_test_alpha`): rules 2 and 3 are two tests that can each roll back a
candidate that is no worse, so each runs at α/2 and the chance that either ever does is at most α
(Bonferroni: P(errors or latency) <= P(errors) + P(latency)), whatever the two have in common. The
plan's ``alpha`` bounds the whole judge's false rollbacks (rule 1, alarms, is not a test: its false
alarms are the alarms' own).

A hold at the hold limit (``holds`` >= ``max_holds``) becomes ``on_hold_limit``: "rollback" or
"stop". Rollbacks come first because they are safe whatever the split; promotion is the one
verdict that needs sound data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rollout.concurrent_errors import ErrorEvidence, error_evidence
from rollout.concurrent_latency import LatencyEvidence, latency_evidence
from rollout.history import Minute, current_step
from rollout.plan import RolloutPlan
from srm_check.srm_stats import srm_test

Action = Literal["promote", "hold", "rollback", "complete", "stop"]
NextAction = Literal["next_step", "complete", "judge_again", "rollback", "stop"]
Rule = Literal["alarm", "errors", "latency", "srm", "traffic", "hold_limit", "passed"]

# Below this many requests in the step the SRM check is not run (the scheduled check's default floor,
# MIN_INVOCATIONS). Not a validity gate: the test is exact at any count; it only spares a nearly idle
# step a check too weak to see anything.
SRM_MIN_REQUESTS = 1000

# The statistical tests that can roll back (rules 2 and 3), among which ``alpha`` is split.
ROLLBACK_TESTS = 2


def per_test_alpha(alpha: float) -> float:
    """The level each rollback test runs at, so that the judge as a whole keeps ``alpha`` (module docstring)."""
    return alpha / ROLLBACK_TESTS


_NEXT: dict[str, NextAction] = {
    "promote": "next_step",
    "complete": "complete",
    "hold": "judge_again",
    "rollback": "rollback",
    "stop": "stop",
}


@dataclass(frozen=True)
class Verdict:
    """The judge's answer. ``reasons`` are sentences for people, the decisive one first;
    ``rule`` names the rule that decided (module docstring)."""

    action: Action
    reasons: tuple[str, ...]
    rule: Rule
    errors: ErrorEvidence
    latency: LatencyEvidence
    step_candidate_requests: int
    srm_p_value: float | None

    @property
    def next_action(self) -> NextAction:
        """What the state machine does next: next_step, complete, judge_again, rollback or stop."""
        return _NEXT[self.action]


def _percent(rate: float) -> str:
    return f"{100 * rate:.2f} %"


def _srm_p_value(step: Sequence[Minute], variants: Sequence[str]) -> float | None:
    if not step:
        return None
    counts = {v: sum(m.get(v).invocations for m in step) for v in variants}
    if sum(counts.values()) < SRM_MIN_REQUESTS:
        return None
    weights = {v: step[-1].weights.get(v, 0.0) for v in variants}
    try:
        return srm_test(counts, weights).p_value
    except ValueError:  # no positive weight among them, or no traffic: nothing to test
        return None


def _error_sentence(evidence: ErrorEvidence) -> str:
    return (
        f"candidate 5XX: {evidence.candidate_errors} errors where its share of each minute's errors predicts "
        f"{evidence.expected_errors:.1f} ({evidence.minutes} minute(s) with errors on a shared split); excess "
        f"rate {_percent(evidence.excess_rate)} (evidence: mixture log-LR {evidence.max_log_ratio:.2f}, "
        f"self-normalized {evidence.max_log_increment_mixture:.2f}, threshold {evidence.threshold:.2f})"
    )


def judge(
    minutes: Sequence[Minute],
    plan: RolloutPlan,
    step_index: int,
    holds: int,
    alarms_in_alarm: Sequence[str] = (),
) -> Verdict:
    """Decide the step ``plan.steps[step_index]`` after ``holds`` holds at it (rules in the module
    docstring). ``minutes`` run from the rollout's first step to now; the current step is the
    trailing run with the last minute's weights. ``alarms_in_alarm`` (default none) are the
    candidate's alarms now in ALARM. Raises ``ValueError`` for a step index or hold count that
    cannot be."""
    if not 0 <= step_index < len(plan.steps):
        raise ValueError(f"step_index: must be >= 0 and < {len(plan.steps)} (got {step_index})")
    if holds < 0:
        raise ValueError(f"holds: must be >= 0 (got {holds})")
    settings = plan.judge
    level = per_test_alpha(settings.alpha)
    errors = error_evidence(minutes, plan.candidate, plan.baselines, level)
    latency = latency_evidence(minutes, plan.candidate, plan.baselines, settings.latency_tolerance, level)
    step = current_step(minutes)
    step_requests = sum(m.get(plan.candidate).invocations for m in step)
    srm = _srm_p_value(step, (plan.candidate, *plan.baselines))

    rollback: list[tuple[Rule, str]] = []
    hold: list[tuple[Rule, str]] = []
    passed: list[str] = []
    if alarms_in_alarm:
        rollback.append(("alarm", f"Alarm(s) in ALARM: {', '.join(alarms_in_alarm)}."))
    else:
        passed.append("No alarm in ALARM.")

    tolerated = settings.max_error_rate_increase
    if errors.candidate_worse and (tolerated is None or errors.excess_rate > tolerated):
        limit = "" if tolerated is None else f", above the tolerated {_percent(tolerated)}"
        rollback.append(
            ("errors", f"The candidate's 5XX rate is higher than the baselines'{limit}: {_error_sentence(errors)}.")
        )
    elif errors.candidate_worse:
        passed.append(
            f"5XX rate higher but within the tolerated {_percent(tolerated or 0.0)}: {_error_sentence(errors)}."
        )
    else:
        passed.append(f"5XX rate not shown higher: {_error_sentence(errors)}.")

    latency_text = (
        f"typical p99 ratio {latency.ratio:.2f} over {latency.minutes} paired minute(s) (evidence "
        f"{latency.max_log_mixture:.2f}, threshold {latency.threshold:.2f})"
    )
    if latency.slower:
        rollback.append(
            (
                "latency",
                f"The candidate's p99 latency is above {settings.latency_tolerance:g} × the baselines': "
                f"{latency_text}.",
            )
        )
    else:
        passed.append(f"p99 latency not shown above {settings.latency_tolerance:g} × the baselines': {latency_text}.")

    if srm is not None and srm < settings.srm_p_value:
        # The variants are not getting the shares the weights ask for (routing, pinned clients, a
        # variant failing before it is counted): they see different populations, and a comparison
        # between them cannot justify a promotion. Wait for a clean window instead.
        hold.append(
            ("srm", f"Sample-ratio mismatch in this step (p = {srm:.3g} < {settings.srm_p_value:g}): traffic is "
             "not split the way the weights say, so comparing the variants would be unsound.")
        )  # fmt: skip
    if step_requests < settings.min_requests:
        hold.append(
            ("traffic", f"Not enough traffic yet: the candidate got {step_requests} requests in this step, "
             f"{settings.min_requests} needed.")
        )  # fmt: skip
    else:
        passed.append(f"The candidate got {step_requests} requests in this step (minimum {settings.min_requests}).")

    action: Action
    rule: Rule
    if rollback:
        action, rule, reasons = "rollback", rollback[0][0], [text for _, text in rollback]
    elif hold and holds >= plan.max_holds:
        action, rule = plan.on_hold_limit, "hold_limit"
        reasons = [f"Hold limit reached ({holds} hold(s), max_holds {plan.max_holds}): {plan.on_hold_limit}."]
        reasons += [text for _, text in hold]
    elif hold:
        action, rule, reasons = "hold", hold[0][0], [text for _, text in hold]
    else:
        action = "complete" if step_index == len(plan.steps) - 1 else "promote"
        rule, reasons = "passed", passed
    return Verdict(
        action=action,
        reasons=tuple(reasons),
        rule=rule,
        errors=errors,
        latency=latency,
        step_candidate_requests=step_requests,
        srm_p_value=srm,
    )
