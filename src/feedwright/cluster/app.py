"""The Celery application shared by the dispatcher and the workers.

One task, :data:`TASK`: refresh a batch of sources (their keys), claimed by
``owner`` in the store. The message is acknowledged after the batch ran
(``task_acks_late``) and given back if the worker process dies
(``task_reject_on_worker_lost``); Redis hands an unacknowledged message out
again after its visibility timeout, which is longer than the lease, so a
redelivered batch finds its sources claimed anew and does nothing
(:func:`feedwright.cluster.worker.refresh_batch` renews the lease first).
"""

from __future__ import annotations

import hashlib
from typing import Any

from ..config import Config

TASK = "feedwright.refresh_batch"


def queue_name(config: Config) -> str:
    """The broker queue of this site: named after its store, so that sites
    (or tests) sharing one broker never take each other's batches."""
    digest = hashlib.sha256(str(config.state).encode("utf-8")).hexdigest()[:12]
    return f"feedwright-{digest}"


def make_app(config: Config) -> Any:
    """A Celery app for ``config.queue`` (redis:// or amqp://)."""
    from celery import Celery

    url = config.queue
    if url is None:
        raise ValueError("make_app needs `queue:` in the config")
    lease = config.queue_lease.total_seconds()
    # Results say which batches changed entries (the dispatcher publishes after
    # them): in Redis itself, or over RabbitMQ's reply queues.
    backend = url if url.startswith(("redis://", "rediss://")) else "rpc://"
    app = Celery("feedwright", broker=url, backend=backend, set_as_current=False)
    app.conf.update(
        task_default_queue=queue_name(config),
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_track_started=False,
        worker_prefetch_multiplier=1,
        worker_hijack_root_logger=False,
        worker_send_task_events=False,
        result_expires=max(3600, int(lease * 4)),
        broker_connection_retry=True,
        broker_connection_retry_on_startup=True,
        broker_connection_max_retries=None,
        broker_transport_options={"visibility_timeout": int(lease * 2) + 60},
        result_backend_transport_options={"retry_policy": {"max_retries": 20}},
        broker_pool_limit=4,
    )
    return app


__all__ = ["TASK", "make_app", "queue_name"]
