"""``GET /metrics``: Prometheus numbers about jobs, read from the run store at each scrape.

The store is the system of record, so the numbers are the same whichever process (or machine)
ran the jobs, and nothing is lost when a service restarts. prometheus-client does the text
format; the values come from one query each.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from agentmap.store.jobstore import JOB_STATES, JobEvent, JobStore

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


def metrics_text(jobs: JobStore, tally: EventTally | None = None) -> bytes:
    """The Prometheus text exposition of ``jobs`` (and of the node numbers ``tally`` keeps,
    brought up to date first)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(JobsCollector(jobs))
    if tally is not None:
        tally.update()
        registry.register(tally)
    return generate_latest(registry)


NODE_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0)
"""Node duration buckets, in seconds: from in-process echo nodes to slow model calls."""
MARGIN = 5.0
"""Seconds of events read again at each scrape: an event is stamped when it happens and may be
committed a little later; events already counted are skipped by their number."""


class _Node:
    """What one node has done, as counted so far."""

    __slots__ = ("buckets", "completion_tokens", "cost", "count", "failures", "prompt_tokens",
                 "retries", "total")  # fmt: skip

    def __init__(self) -> None:
        self.buckets = [0] * len(NODE_BUCKETS)
        self.count = 0
        self.total = 0.0
        self.failures = 0
        self.retries = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.cost = 0.0


class EventTally(Collector):
    """Node-level numbers counted from jobs' events: durations, failures and retries by node,
    model tokens and cost, and events by kind.

    Counting every event at every scrape would cost more as the store grows; the tally reads
    each event once (those since its last read, plus a margin) and keeps the sums, so a scrape
    costs what happened since the last one. A new service counts the store's events once at
    its first scrape: the counters start from what the store holds, as counters should."""

    def __init__(self, jobs: JobStore) -> None:
        self.jobs = jobs
        self._lock = threading.Lock()
        self._since = 0.0
        self._seen: dict[tuple[str, int], float] = {}
        self._nodes: dict[tuple[str, str], _Node] = {}
        self.kinds: collections.Counter[str] = collections.Counter()

    def update(self) -> None:
        """Count the events recorded since the last update."""
        with self._lock:
            while True:
                found = self.jobs.tally_events_since(self._since)
                for event, graph in found:
                    key = (event.job_id, event.seq)
                    if key in self._seen:
                        continue
                    self._seen[key] = event.at
                    self._count(event, graph or "")
                if len(found) < 10_000 or found[-1][0].at <= self._since:
                    break
                self._since = found[-1][0].at  # a full page: read on from its end
            self._since = max(self._since, time.time() - MARGIN)
            self._seen = {key: at for key, at in self._seen.items() if at >= self._since}

    def _count(self, event: JobEvent, graph: str) -> None:
        self.kinds[event.kind] += 1
        if event.node is None or not event.kind.startswith("node_"):
            return
        node = self._nodes.setdefault((graph, event.node), _Node())
        data = event.data
        if event.kind in ("node_completed", "node_failed"):
            duration = float(data.get("duration") or 0.0)
            node.count += 1
            node.total += duration
            for i, bound in enumerate(NODE_BUCKETS):
                if duration <= bound:
                    node.buckets[i] += 1
            usage = data.get("usage") or {}
            node.prompt_tokens += int(usage.get("prompt_tokens") or 0)
            node.completion_tokens += int(usage.get("completion_tokens") or 0)
            node.cost += float(usage.get("cost") or 0.0)
        if event.kind == "node_failed":
            node.failures += 1
        elif event.kind == "node_retrying":
            node.retries += 1

    def collect(self) -> Iterator[Metric]:
        labels = ["graph", "node"]
        durations = HistogramMetricFamily(
            "agentmap_node_duration_seconds", "How long nodes of jobs took", labels=labels
        )
        failures = CounterMetricFamily(
            "agentmap_node_failures", "Nodes of jobs that failed for good", labels=labels
        )
        retries = CounterMetricFamily(
            "agentmap_node_retries", "Node attempts that failed and were tried again", labels=labels
        )
        tokens = CounterMetricFamily(
            "agentmap_llm_tokens", "Model tokens used by nodes of jobs", labels=[*labels, "kind"]
        )
        cost = CounterMetricFamily(
            "agentmap_llm_cost",
            "Model cost of nodes of jobs (with prices configured)",
            labels=labels,
        )
        with self._lock:
            for (graph, name), node in sorted(self._nodes.items()):
                buckets = [(repr(b), c) for b, c in zip(NODE_BUCKETS, node.buckets, strict=True)]
                buckets.append(("+Inf", node.count))
                durations.add_metric([graph, name], buckets, node.total)
                failures.add_metric([graph, name], node.failures)
                retries.add_metric([graph, name], node.retries)
                if node.prompt_tokens or node.completion_tokens:
                    tokens.add_metric([graph, name, "prompt"], node.prompt_tokens)
                    tokens.add_metric([graph, name, "completion"], node.completion_tokens)
                if node.cost:
                    cost.add_metric([graph, name], node.cost)
            kinds = CounterMetricFamily(
                "agentmap_job_events", "Jobs' events recorded, by kind", labels=["kind"]
            )
            for kind, count in sorted(self.kinds.items()):
                kinds.add_metric([kind], count)
        yield from (durations, failures, retries, tokens, cost, kinds)
