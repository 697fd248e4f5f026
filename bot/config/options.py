"""What each pure core needs from the configuration: one translation per core."""

from __future__ import annotations

from bot.comparison.compare import ComparisonOptions
from bot.config.schema import ComparisonConfig, HealthConfig, RepoConfig
from bot.health.model import HealthOptions
from bot.review.model import ReviewOptions, SharedAction


def comparison_options(config: ComparisonConfig, base_branch: str, *, confirm: bool = False) -> ComparisonOptions:
    """The comparison core's options from the `comparison:` section, for a pull request into `base_branch`.

    `confirm`: a job that looks slower in one sample may wait for a re-run (the caller has one to spend)."""
    return ComparisonOptions(
        confirm=confirm,
        min_runs=config.min_runs,
        threshold_percent=config.threshold_percent,
        threshold_seconds=config.threshold_seconds,
        alpha=config.alpha,
        pass_rate_for_new_failure=config.new_failure_pass_rate,
        baseline_branch=base_branch,
    )


def review_options(config: RepoConfig) -> ReviewOptions:
    """The review core's options from the `review:` section and `shared_actions:`."""
    return ReviewOptions(
        analyzers=tuple(config.review.analyzers),
        ignore=tuple(config.review.ignore),
        security_strict=config.review.security_strict,
        shared_actions=tuple(
            SharedAction(uses=shared.uses, replaces=tuple(shared.replaces), with_=dict(shared.with_))
            for shared in config.shared_actions
        ),
    )


def health_options(config: HealthConfig) -> HealthOptions:
    """The health report's options from the `health:` section."""
    return HealthOptions(
        window_days=config.window_days,
        alpha=config.alpha,
        min_runs=config.min_runs,
        min_segment=config.min_segment,
        threshold_percent=config.threshold_percent,
        threshold_seconds=config.threshold_seconds,
        flaky_recovery_days=config.flaky_recovery_days,
        broken_after=config.broken_after,
        queue_p90_seconds=config.queue_p90_seconds,
        jobs=config.jobs,
    )
