"""Reports for sales managers and meetings: the funnel of a cohort of threads, money by period,
products, timelines (a thread's, people's workload, resource occupancy) and the key numbers of
the meeting view. Every aggregate runs in DuckDB; functions return small DataFrames or frozen
dataclasses. Periods are computed in the organisation's time zone.

Definitions, the same on every page:

- **Filter** (`ReportFilter`): `start`..`end` are local dates, both included. `owner_id` is the
  thread's owner, `client_id` the thread's client, `pipeline_id` the thread's pipeline. A
  thread matches `product_id` when one of its done events lists the product.
- **Cohort**: the threads opened (`threads.opened_at`) in the period that match the filters.
- **Stage path** of a pipeline: its open stages (neither won nor lost) in `sequence` order,
  then its won stage as the last step. Lost stages are not on the path.
- **Stage history** of a thread: its done events with `stage_id`, each the moment the thread
  entered that stage (a new thread's first event records its opening stage). A thread whose
  opening no event records (one opened by planning a task) entered its pipeline's first stage
  at `opened_at`.
- **Reached**: a thread reached a path stage when the furthest path stage in its history (or
  its current stage) is that stage or a later one: skipping a stage counts as passing it, and
  moving back does not undo it. Every cohort thread reached the first stage.
- **Conversion** from a path stage to the next: reached(next) / reached(stage).
- **Win rate**: won / (won + lost) among the cohort's threads. Open threads are not decided
  yet and do not count; None when nothing is decided.
- **Time in stage**: from entering a stage to the thread's next stage change or, for its
  current stage, to `closed_at` (closed threads) or now (open ones). A thread's stays in one
  stage are added up; the average is over the threads that entered the stage. Won and lost
  stages end a thread and have no time.
- **Thread value**: the sum of the chosen amount type over the thread's done events; a thread
  without such amounts is worth 0 (it still counts as a thread).
- **Weighted pipeline**: the threads open now (the period does not apply), value × stage
  percent / 100, per owner and in total.
- **Money**: the amounts of done events, by the event's start (local time) in week, month,
  quarter or year buckets. The period is widened to whole buckets. Broken down by product (or
  filtered by one), an event's amounts of one type are added up and split among the event's
  products in proportion to their line values (equally per line when those are all zero), in
  whole cents by the largest-remainder method, so the parts add up to the sum exactly; amounts
  of events without products go to `NONE`. The product filter keeps only that product's parts.
- **Previous period**: for money and products the bucket before (the previous week, month,
  quarter or year); a last bucket that is still running is compared with the same number of
  days at the start of the bucket before; for the meeting's key numbers the same number of days
  just before the period.
"""

from __future__ import annotations

from crm_data.reports.common import (  # noqa: F401
    DIMENSIONS,
    DRILL_KINDS,
    DRILL_LIMIT,
    NONE,
    OTHER,
    THREAD_VALUE_SQL,
    THREADS_WITH_PRODUCT_SQL,
    TOP_KEYS,
    WORKLOAD_LIMIT,
    ReportFilter,
    default_filter,
    value_amount_type,
)
from crm_data.reports.forecast import (  # noqa: F401
    FORECAST_DIMENSIONS,
    FORECAST_KINDS,
    Forecast,
    forecast,
    forecast_threads,
    slipped,
    thread_forecast_value,
)
from crm_data.reports.funnel import Drill, Funnel, Weighted, drill_threads, funnel, weighted_pipeline  # noqa: F401
from crm_data.reports.kpis import Kpis, kpis  # noqa: F401
from crm_data.reports.money import (  # noqa: F401
    Money,
    PartialPeriod,
    money,
    money_keys,
    money_pivot,
    money_totals,
    running_bucket,
)
from crm_data.reports.periods import (  # noqa: F401
    GRANULARITIES,
    MAX_BUCKETS,
    bucket_start,
    buckets,
    granularity_for,
    local_days,
    local_midnight,
    next_bucket,
    previous_bucket,
    twelve_months_to,
)
from crm_data.reports.products import TOP_PRODUCTS, ProductReport, product_events, product_threads, products  # noqa: F401
from crm_data.reports.timelines import (  # noqa: F401
    ThreadTimeline,
    Workload,
    resource_occupancy,
    thread_timeline,
    working_hours_in,
    workload,
)
