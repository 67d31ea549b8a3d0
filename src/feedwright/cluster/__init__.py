"""Distributed refresh (``queue:`` in config.yaml): see docs/scale.md.

``run`` with ``queue:`` is the dispatcher (:mod:`.dispatch`): it claims due
sources in the store with a lease and sends them, in batches, as Celery
tasks; ``feedwright worker`` (:mod:`.worker`) refreshes each batch with the
very code ``run`` uses alone (``update.refresh``); the dispatcher publishes.
Celery is imported only here, and only when ``queue:`` is set.
"""
