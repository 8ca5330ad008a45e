"""The columns of every report table: one spec drives the table on screen and its CSV/XLSX file
(see crm_data/columns.py). Keys are the report frames' columns; names the on-screen tables'."""

from __future__ import annotations

from collections.abc import Sequence

from crm_data.columns import Column

# -- threads behind a number (funnel drill-down) -------------------------------------------------------------
THREADS = (
    Column("id", "reports.thread_no", "int", shown=False),
    Column("title", "field.title", width="medium"),
    Column("client", "field.client_id"),
    Column("owner", "field.owner_id"),
    Column("pipeline", "field.pipeline_id", shown=False),
    Column("stage", "field.stage_id"),
    Column("percent", "field.percent", "percent", shown=False),
    Column("status", "field.status", "status"),
    Column("value", "field.value", "money"),
    Column("opened_at", "reports.opened", "date", name="opened"),
    Column("closed_at", "reports.closed", "date", shown=False),
)

# -- funnel ---------------------------------------------------------------------------------------------------
STAGES = (  # "—" where a number does not apply, such as the time spent in the won stage
    Column("pipeline", "field.pipeline_id", shown=False),
    Column("stage", "field.stage_id", width="medium"),
    Column("percent", "field.percent", "percent"),
    Column("reached", "funnel.reached", "count", help="funnel.reached_explain", missing="—"),
    Column("reached_value", "funnel.reached_value", "money", shown=False),
    Column("conversion", "funnel.conversion", "ratio", help="funnel.conversion_explain", missing="—"),
    Column("at_now", "funnel.at_now", "count"),
    Column("at_now_value", "funnel.at_now_value", "money"),
    Column("avg_days", "funnel.avg_days", "number", places=1, help="funnel.avg_days_explain", missing="—"),
)
OUTCOMES = (
    Column("pipeline", "field.pipeline_id"),
    Column("threads", "funnel.cohort", "int"),
    Column("open", "status.open", "int"),
    Column("won", "status.won", "int"),
    Column("lost", "status.lost", "int"),
    Column("closed", "status.closed", "int", shown=False),
    Column("win_rate", "funnel.win_rate", "ratio"),
    Column("won_value", "funnel.won_value", "money"),
    Column("value", "funnel.cohort_value", "money", shown=False),
)
LOST_REASONS = (
    Column("lost_reason", "field.lost_reason_id", name="reason"),
    Column("threads", "funnel.lost", "int"),
    Column("value", "field.value", "money"),
)
WEIGHTED_OWNERS = (
    Column("owner", "field.owner_id"),
    Column("threads", "funnel.open_threads", "int"),
    Column("value", "funnel.open_value", "money"),
    Column("weighted", "funnel.weighted_value", "money"),
)


# -- money ----------------------------------------------------------------------------------------------------
def money_pivot(keys: Sequence[str], grain: str, *, changes: bool = True) -> tuple[Column, ...]:
    """A money pivot (reports.money_pivot, with `__previous__` and `__change__` beside it when
    `changes`): on screen its columns are named by their headers, keys by the data's names."""
    # the period's total and its change right after the period, the keys after them: at the end, with
    # six owners the total was cut off at 1400 px and the change was out of sight
    out = [Column("__period__", "money.period", "period", grain=grain), Column("__total__", "money.total", "money")]
    if changes:
        out += [
            Column("__previous__", "money.previous", "money", shown=False),
            Column("__change__", "money.change", "ratio", signed=True, help="money.change_help"),
        ]
    out += [Column(k, k, "money", literal=True) for k in keys]
    return tuple(out)


def money_changes(dimension: str, grain: str) -> tuple[Column, ...]:
    """Report rows of reports.money, with the breakdown key's name in `name`."""
    return (
        Column("period", "money.period", "period", grain=grain),
        Column("name", f"money.by_{dimension}", name="key"),
        Column("total", "money.total", "money"),
        Column("previous", "money.previous", "money"),
        Column("change", "money.change_value", "money"),
        Column("change_ratio", "money.change", "ratio", signed=True, name="ratio"),
    )


# -- products -------------------------------------------------------------------------------------------------
PRODUCT_TOTALS = (
    Column("label", "field.product_id", name="product", width="large", exported=False),
    Column("code", "products.code", shown=False),
    Column("name", "field.product_id", shown=False),
    Column("unit", "field.unit"),
    Column("quantity", "field.quantity", "number"),
    Column("value", "field.value", "money"),
    Column("events", "products.events", "int"),
    Column("threads", "products.threads", "int"),
    Column("threads_won", "products.threads_won", "int", name="won", help="products.won_help"),
)
PRODUCT_PERIODS = tuple(  # exported only (the chart shows them)
    Column(key, label, kind, shown=False)
    for key, label, kind in (
        ("period", "money.period", "date"),
        ("code", "products.code", "text"),
        ("name", "field.product_id", "text"),
        ("quantity", "field.quantity", "number"),
        ("value", "field.value", "money"),
        ("events", "products.events", "int"),
        ("threads", "products.threads", "int"),
        ("threads_won", "products.threads_won", "int"),
    )
)
PRODUCT_THREADS = (
    Column("id", "reports.thread_no", "int", shown=False),
    Column("title", "field.title", width="large"),
    Column("client", "field.client_id"),
    Column("owner", "field.owner_id"),
    Column("stage", "field.stage_id"),
    Column("status", "field.status", "status"),
    Column("quantity", "field.quantity", "number"),
    Column("value", "field.value", "money"),
    Column("last_at", "products.last_event", "datetime", shown=False),
)
PRODUCT_EVENTS = (
    Column("starts_at", "field.when", "datetime", name="when"),
    Column("title", "field.thread_id", width="large"),
    Column("client", "field.client_id"),
    Column("type", "field.type_id"),
    Column("author", "field.author"),
    Column("quantity", "field.quantity", "number"),
    Column("unit_price", "field.unit_price", "money", name="price"),
    Column("value", "field.value", "money"),
)

# -- meeting --------------------------------------------------------------------------------------------------
MEETING_NUMBERS = (  # counts and amounts mixed in one column
    Column("number", "meeting.number"),
    Column("this_period", "meeting.this_period", "value"),
    Column("period_before", "meeting.period_before", "value"),
)

# -- timelines ------------------------------------------------------------------------------------------------
THREAD_FINDER = (
    Column("id", "reports.thread_no", "int", name="no"),
    Column("title", "field.title"),
    Column("client", "field.client_id"),
    Column("stage", "field.stage_id"),
    Column("status", "field.status", "status"),
)
THREAD_EVENTS = (
    Column("starts_at", "field.when", "datetime", name="when"),
    Column("type", "field.type_id"),
    Column("status", "field.status", "status"),
    Column("author", "field.author", shown=False),
    Column("assignee", "field.assignee_id", name="who"),
    Column("stage", "timelines.stage_change"),
    Column("note", "field.note", width="large"),
)
WORKLOAD_PEOPLE = (
    Column("person", "timelines.person"),
    Column("events", "timelines.events", "int"),
    Column("hours", "timelines.hours", "number", places=1),
    Column("overlapping", "timelines.overlapping", "int", help="timelines.overlapping_help"),
)
WORKLOAD_INTERVALS = (  # exported only (the chart shows them)
    Column("person", "timelines.person", shown=False),
    Column("starts_at", "field.starts_at", "datetime", shown=False),
    Column("ends_at", "field.ends_at", "datetime", shown=False),
    Column("type", "field.type_id", shown=False),
    Column("client", "field.client_id", shown=False),
    Column("status", "field.status", "status", shown=False),
    Column("overlap", "chart.overlap", "flag", shown=False),
)
WORKLOAD_DAYS = (  # exported only (the heatmap shows them): the workload when too many to draw one by one
    Column("person", "timelines.person", shown=False),
    Column("day", "timelines.day", "date", shown=False),
    Column("events", "timelines.events", "int", shown=False),
    Column("hours", "timelines.hours", "number", places=1, shown=False),
    Column("overlapping", "timelines.overlapping", "int", shown=False),
)
OCCUPANCY = (
    Column("resource", "field.resource_ids"),
    Column("kind", "field.kind"),
    Column("bookings", "timelines.bookings", "int"),
    Column("hours", "timelines.hours", "number", places=1),
    Column("available_hours", "timelines.available", "number", places=1, shown=False),
    Column("occupancy", "timelines.occupancy", "share"),
)


def money_keys(dimension: str) -> tuple[Column, ...]:
    """reports.money_keys: every key of the breakdown, its name in `name`."""
    return (
        Column("key", "money.key_no", "int", shown=False),
        Column("name", f"money.by_{dimension}"),
        Column("total", "money.total", "money"),
        Column("share", "money.share", "ratio", help="money.share_help"),
    )


# -- forecast -------------------------------------------------------------------------------------------------
def forecast_totals(grain: str) -> tuple[Column, ...]:
    """reports.forecast(...).totals: one row per bucket."""
    return (
        Column("period", "money.period", "period", grain=grain),
        Column("won", "forecast.won", "money", places=0, help="forecast.won_help"),
        Column("target", "forecast.target", "money", places=0, missing="—"),
        Column(
            "target_to_date",
            "forecast.target_to_date",
            "money",
            places=0,
            help="forecast.target_to_date_help",
            missing="—",
            shown=False,
        ),
        Column("gap", "forecast.gap", "money", places=0, help="forecast.gap_help", missing="—"),
        Column("committed", "forecast.committed", "money", places=0, help="forecast.committed_help"),
        Column("best_case", "forecast.best_case", "money", places=0, help="forecast.best_case_help"),
        Column("weighted", "forecast.weighted", "money", places=0, help="forecast.weighted_help"),
        Column("open_threads", "forecast.open_threads", "int"),
        Column("won_threads", "forecast.won_threads", "int", shown=False),
        Column("overdue", "forecast.overdue", "int", help="forecast.overdue_help"),
    )


def forecast_rows(dimension: str, grain: str) -> tuple[Column, ...]:
    """reports.forecast(...).rows of one bucket on screen (every bucket in the file), the owner's
    or pipeline's name in `name`."""
    by = "field.owner_id" if dimension == "owner" else "field.pipeline_id"
    return (
        Column("period", "money.period", "period", grain=grain, shown=False),
        Column("name", by),
        Column("won", "forecast.won", "money", places=0),
        Column("target", "forecast.target", "money", places=0, missing="—", shown=dimension == "owner"),
        Column("committed", "forecast.committed", "money", places=0),
        Column("best_case", "forecast.best_case", "money", places=0),
        Column("weighted", "forecast.weighted", "money", places=0),
        Column("open_threads", "forecast.open_threads", "int"),
        Column("won_threads", "forecast.won_threads", "int", shown=False),
        Column("overdue", "forecast.overdue", "int"),
    )


FORECAST_THREADS = (
    Column("id", "reports.thread_no", "int", shown=False),
    Column("title", "field.title"),
    Column("client", "field.client_id"),
    Column("owner", "field.owner_id"),
    Column("pipeline", "field.pipeline_id", shown=False),
    Column("stage", "field.stage_id"),
    Column("percent", "field.percent", "percent", shown=False),
    Column("status", "field.status", "status", shown=False),
    Column("value", "forecast.value", "money", help="forecast.value_help"),
    Column("weighted", "forecast.weighted", "money"),
    Column("expected_close", "forecast.closes", "date", help="forecast.closes_help"),
    Column("closed_on", "reports.closed", "date", missing="—"),
)
SLIPPED = (  # `why` is written by the page (pages/_ui/labels.slip_reasons); the file has the numbers
    Column("id", "reports.thread_no", "int", shown=False),
    Column("title", "field.title"),
    Column("client", "field.client_id"),
    Column("owner", "field.owner_id"),
    Column("stage", "field.stage_id"),
    Column("value", "forecast.value", "money", places=0),
    Column("expected_close", "forecast.closes", "date", help="forecast.closes_help"),
    Column("why", "forecast.why", help="forecast.why_help", exported=False),
    Column("days_overdue", "forecast.days_overdue", "count", missing="—", shown=False),
    Column("moved_later", "forecast.moved_later", "int", help="forecast.moved_later_help", shown=False),
    Column("days_idle", "forecast.days_idle", "int", help="forecast.days_idle_help", shown=False),
    Column("rot_days", "forecast.rot_days", "int", shown=False),
)

# -- moving in: the import's preview (pages/moving_in.py) --------------------------------------------------------
MOVING_PREVIEW = (
    Column("file", "moving.file"),
    Column("line", "admin.import_line", "int"),
    Column("id", "moving.row_id"),
    Column("status", "field.status"),
    Column("detail", "moving.detail", width="large"),
)
