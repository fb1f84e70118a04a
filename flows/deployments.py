"""The deployments of deploy/prefect.yaml, for `newswatch serve`: one file says what runs when."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime
from pathlib import Path

import yaml
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy, DeploymentStatus
from prefect.client.schemas.responses import DeploymentResponse
from prefect.deployments.runner import RunnerDeployment
from prefect.exceptions import ObjectNotFound
from prefect.schedules import Cron
from prefect.types.entrypoint import EntrypointType

PREFECT_FILE = Path(__file__).resolve().parent.parent / "deploy" / "prefect.yaml"


def load_deployments(prefect_file: str | Path = PREFECT_FILE) -> list[RunnerDeployment]:
    """The deployments a prefect.yaml declares, with their schedules, parameters and concurrency
    limits, ready for ``prefect.serve``. Work pools and pull steps do not apply to serving."""
    with open(prefect_file, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    deployments = []
    for spec in config.get("deployments") or []:
        module, _, name = spec["entrypoint"].rpartition(".")
        flow = getattr(importlib.import_module(module), name)
        limit = spec.get("concurrency_limit")
        deployments.append(flow.to_deployment(
            name=spec["name"],
            description=spec.get("description"),
            tags=spec.get("tags"),
            parameters=spec.get("parameters") or {},
            schedules=[Cron(s["cron"], timezone=s.get("timezone")) for s in spec.get("schedules") or []],
            concurrency_limit=ConcurrencyLimitConfig(
                limit=limit["limit"], collision_strategy=ConcurrencyLimitStrategy(limit["collision_strategy"]),
            ) if limit else None,
            entrypoint_type=EntrypointType.MODULE_PATH,
        ))
    return deployments


# A deployment whose runner asked for its runs this recently is being served (the Prefect server
# marks it not ready after as long without a poll).
SERVED_WITHIN_SECONDS = 60


def _existing(deployments: list[RunnerDeployment]) -> dict[str, DeploymentResponse]:
    """{"flow/deployment": what the server has} for those of these deployments it has."""
    found = {}
    with get_client(sync_client=True) as client:
        for deployment in deployments:
            name = f"{deployment.flow_name}/{deployment.name}"
            try:
                found[name] = client.read_deployment_by_name(name)
            except ObjectNotFound:
                continue
    return found


def on_work_pools(deployments: list[RunnerDeployment]) -> dict[str, str]:
    """{"flow/deployment": work pool} of these deployments that the server already has on a work
    pool: serving one of those would leave it half a worker's and half a server's."""
    return {name: existing.work_pool_name for name, existing in _existing(deployments).items()
            if existing.work_pool_name}


def served_elsewhere(deployments: list[RunnerDeployment]) -> dict[str, float]:
    """{"flow/deployment": seconds since its runner last polled} of these deployments that another
    process serves now: a second `serve` would run each twice, and pause them all when it stops."""
    now = datetime.now(UTC)
    served = {}
    for name, existing in _existing(deployments).items():
        if existing.last_polled and existing.status == DeploymentStatus.READY:
            seconds = (now - existing.last_polled).total_seconds()
            if seconds < SERVED_WITHIN_SECONDS:
                served[name] = seconds
    return served
