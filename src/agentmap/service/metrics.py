"""``GET /metrics``: Prometheus numbers about jobs, read from the run store at each scrape.

The store is the system of record, so the numbers are the same whichever process (or machine)
ran the jobs, and nothing is lost when a service restarts. prometheus-client does the text
format; the values come from one query each.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from agentmap.store.jobstore import JOB_STATES, JobStore

CONTENT_TYPE = CONTENT_TYPE_LATEST

BUCKETS = (0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)
"""Job duration buckets, in seconds: from quick echo graphs to hour-long model chains."""


class JobsCollector(Collector):
    """The jobs of one run store, as Prometheus metrics."""

    def __init__(self, jobs: JobStore) -> None:
        self.jobs = jobs

    def collect(self) -> Iterator[Metric]:
        numbers = self.jobs.numbers()
        states = GaugeMetricFamily("agentmap_jobs", "Jobs in the store, by state", labels=["state"])
        for state in JOB_STATES:
            states.add_metric([state], numbers.by_state.get(state, 0))
        yield states
        yield GaugeMetricFamily(
            "agentmap_queue_depth",
            "Jobs a worker could take now (queued, or retrying and due)",
            value=numbers.takeable,
        )
        yield CounterMetricFamily(
            "agentmap_job_retries", "Attempts made after a job's first", value=numbers.retries
        )
        yield GaugeMetricFamily(
            "agentmap_workers",
            "Workers holding a job under a live lease",
            value=numbers.workers,
        )
        counts = [sum(1 for d in numbers.durations if d <= bound) for bound in BUCKETS]
        buckets = [(repr(bound), count) for bound, count in zip(BUCKETS, counts, strict=True)]
        buckets.append(("+Inf", len(numbers.durations)))
        yield HistogramMetricFamily(
            "agentmap_job_duration_seconds",
            "How long jobs' runs took, from start to end",
            buckets=buckets,
            sum_value=sum(numbers.durations),
        )


def metrics_text(jobs: JobStore) -> bytes:
    """The Prometheus text exposition of ``jobs``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(JobsCollector(jobs))
    return generate_latest(registry)
