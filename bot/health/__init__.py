"""CI health over time: what got slower or flakier on the default branch, and when (a pure core: no I/O).

Definitions (the report, its JSON and the README use these words in exactly this sense):

- **Window**: the last `health.window_days` days (default 30) before the report; every figure of the window
  is set against the **previous window** of the same length.
- **Success rate**: successful runs out of the completed runs of a workflow on the default branch (latest
  attempt of each run, so a run fixed by a re-run counts as a success). `neutral` counts as success;
  `failure`, `timed_out` and `startup_failure` as failure; **cancelled and skipped runs are left out of both
  sides** (also `stale`, `action_required`): they say nothing about the code. Shown with a 95 % Wilson score
  interval. It **dropped** when a one-sided Fisher exact test finds the window lower than the previous window
  at the level α shared over the workflows (Bonferroni) *and* by at least 5 percentage points.
- **Wall time**: from a run's start to its last update, runs that succeeded at their first attempt (a re-run
  attempt's wall time covers only the jobs re-run); p50/p90 per 7-day week.
- **Slower / faster** (window against previous window): one-sided Mann–Whitney U at α shared over the workflows
  and jobs compared, *and* a change of the median of at least `threshold_percent` and `threshold_seconds`.
- **Change point**: a commit from which a workflow's wall time or a job's duration on the default branch moved
  durably, found by binary segmentation with Pettitt's rank test (`bot.health.changepoints`) at the level α
  shared over every series searched, with at least `min_segment` runs on each side and a shift of the median of
  at least `threshold_percent` and `threshold_seconds`. Its confidence is 1 − p.
- **Flaky job**: a job that both failed and succeeded on the same commit: failed then passed in a re-run, or
  failed in one run and passed in another run of that commit (any branch). Rate: commits where it flaked out of
  commits it ran on in the window (Wilson interval); impact: runner time of the failed executions. A job stays
  listed until `flaky_recovery_days` (default 14) have passed without a flake (**recovery period**).
- **Broken job**: a job whose latest run on the default branch failed after its re-runs, and either its last
  `broken_after` (default 3) runs all failed, or the lower end of the 95 % interval of its failure rate in the
  window is above 50 %. Broken is not flaky: re-running does not fix it. Listed from the first failure after its
  last success.
- **Queue time**: from a job's creation to its start on a runner (`started_at − created_at`), per runner label
  set, all branches, over the window's whole UTC days (from 100 s on, to two significant digits): it measures
  runner availability, not your code. A label set is **short of runners** when its p90 is above
  `queue_p90_seconds` (default 5 min), or its queue times got longer than in the previous window (Mann–Whitney
  at α shared over label sets, and p90 up by the thresholds).
- **Minutes**: runner time per workflow and operating system, and the **billable-minute estimate**: each job
  rounded up to a whole minute times GitHub's published multiplier (Linux 1, Windows 2, macOS 10; self-hosted
  0): an estimate, not an invoice. **Re-run cost**: the billable minutes of attempts 2 and later.
- **Minimum sample**: no verdict (slower, dropped, longer) from fewer than `min_runs` (default 10) runs on either
  side; the numbers are still shown.
"""

from bot.health.analysis import build_report
from bot.health.model import (
    BrokenJob,
    ChangePoint,
    Direction,
    FlakyCommit,
    FlakyJob,
    HealthData,
    HealthOptions,
    HealthReport,
    JobExecutions,
    JobFailure,
    JobOutcomes,
    JobPoint,
    JobTrend,
    MinutesEstimate,
    MinutesRow,
    Period,
    QueueHealth,
    QueueTimes,
    RunPoint,
    WorkflowHealth,
)

__all__ = [
    "BrokenJob",
    "ChangePoint",
    "Direction",
    "FlakyCommit",
    "FlakyJob",
    "HealthData",
    "HealthOptions",
    "HealthReport",
    "JobExecutions",
    "JobFailure",
    "JobOutcomes",
    "JobPoint",
    "JobTrend",
    "MinutesEstimate",
    "MinutesRow",
    "Period",
    "QueueHealth",
    "QueueTimes",
    "RunPoint",
    "WorkflowHealth",
    "build_report",
]
