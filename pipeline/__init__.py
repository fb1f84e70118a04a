"""The pipeline's stages joined into runs, without Prefect: settings, the checks before a run, the
steps of a monitor run and of a backfill, and the processes that extract pages on every core. The
flows call these steps as Prefect tasks."""

from ._analysis import Analysis, analyse, analysis_pool
from ._backfill import (
    DEFAULT_CHUNK_SIZE,
    BackfillPlan,
    Chunk,
    backfill_key,
    backfill_once,
    check_range,
    chunks_of,
    collect_chunk,
    plan_backfill,
    plan_chunk,
    save_failed_sources,
    store_chunk,
)
from ._reclassify import Reclassified, reclassify
from ._records import Harvest, Plan, RunSummary
from ._settings import DEFAULT_DB, Settings, load_settings, split_list
from ._steps import (
    ALERT_MODES,
    PreparedRun,
    collect,
    collect_plans,
    crashed_harvest,
    deliver,
    monitor_once,
    plan_sources,
    prepare_run,
    record_source_health,
    save_harvests,
)

__all__ = [
    "ALERT_MODES",
    "DEFAULT_CHUNK_SIZE",
    "DEFAULT_DB",
    "Analysis",
    "BackfillPlan",
    "Chunk",
    "Harvest",
    "Plan",
    "PreparedRun",
    "Reclassified",
    "RunSummary",
    "Settings",
    "analyse",
    "analysis_pool",
    "backfill_key",
    "backfill_once",
    "check_range",
    "chunks_of",
    "collect",
    "collect_chunk",
    "collect_plans",
    "crashed_harvest",
    "deliver",
    "load_settings",
    "monitor_once",
    "plan_backfill",
    "plan_chunk",
    "plan_sources",
    "prepare_run",
    "reclassify",
    "record_source_health",
    "save_failed_sources",
    "save_harvests",
    "split_list",
    "store_chunk",
]
