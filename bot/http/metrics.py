"""`/metrics` in Prometheus text format: incident, page, reminder and outbox figures read from the database at
scrape time (the same on every replica), and the latency of the requests this process served."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from bot.db import repo

# Alerts Alertmanager said it left out of the notifications this process received (`truncatedAlerts`, summed over
# notifications: a group sent again counts again). Any rise means a receiver's max_alerts is below its groups' size.
ALERTS_LEFT_OUT = web.AppKey("alerts_left_out", Counter)
_PATHS = ("/slack/events", "/healthz", "/metrics", "/alerts/generic", "/alerts/alertmanager", "/alerts/gitlab")


class StoredState(Collector):
    def __init__(self, db: repo.database.Database, backlog: Callable[[], dict], watch=None) -> None:
        self.db = db
        self.backlog = backlog
        self.watch = watch  # the tick as this process ran it (bot/services/watch.py)

    def collect(self) -> Iterator:
        with self.db.session() as session:
            counts = repo.metrics.metric_counts(session=session)
        families: list[tuple[Callable, str, str, list[str], str]] = [
            (GaugeMetricFamily, "firefighter_open_incidents", "Open incidents", ["priority"], "open"),
            (CounterMetricFamily, "firefighter_incidents_declared", "Incidents declared", ["source"], "declared"),
            (CounterMetricFamily, "firefighter_pages_sent", "Pages delivered", ["role"], "pages"),
            (CounterMetricFamily, "firefighter_incidents_acknowledged", "Incidents acknowledged", [], "acknowledged"),
            (CounterMetricFamily, "firefighter_reminders_sent", "Reminders and handoff messages sent", ["kind"],
             "reminders"),
            (GaugeMetricFamily, "firefighter_outbox_messages", "Slack messages owed, by state", ["state"], "outbox"),
            (GaugeMetricFamily, "firefighter_page_sends", "Pages by a person's rules, by method (slack, sms, push, "
             "email) and state (pending, queued, sent, failed, skipped)", ["method", "state"], "sends"),
        ]
        for kind, name, doc, labels, key in families:
            family = kind(name, doc, labels=labels)
            rows = counts[key]
            if key == "open":
                rows = {(p,): rows.get((p,), 0) for p in ("P0", "P1", "P2")}
            if key == "outbox":
                rows = {(s,): rows.get((s,), 0) for s in ("queued", "sent", "failed")}
            for values, count in rows.items():
                family.add_metric(list(values) if labels else [], count)
            yield family
        backlog = self.backlog()
        family = GaugeMetricFamily("firefighter_deliveries", "Deliveries to Slack by state (queued, sent, failed = "
                                   "given up, dropped = no longer owed) and kind", labels=["state", "kind"])
        for state, kinds in sorted(backlog["counts"].items()):
            for kind, count in sorted(kinds.items()):
                family.add_metric([state, kind], count)
        yield family
        yield GaugeMetricFamily("firefighter_delivery_oldest_queued_seconds",
                                "How long the oldest undelivered delivery has waited", value=backlog[
                                    "oldest_queued_seconds"])
        if self.watch is not None:  # what /healthz calls "late", by kind (its details are behind the board's door)
            family = GaugeMetricFamily("firefighter_overdue_work", "Due work waiting more than two ticks, by kind",
                                       labels=["kind"])
            late = self.watch.late()
            for kind in ("escalations", "reminders", "deliveries"):
                family.add_metric([kind], late.get(kind, 0))
            yield family
        if self.watch is not None and self.watch.step_failures:
            family = CounterMetricFamily("firefighter_tick_step_failures", "Tick steps that raised in this process "
                                         "(the other steps of the tick still ran)", labels=["step"])
            for step, count in sorted(self.watch.step_failures.items()):
                family.add_metric([step], count)
            yield family
        if self.watch is not None and self.watch.last_tick_at is not None:
            yield GaugeMetricFamily("firefighter_tick_lag_seconds", "Seconds since this process last completed a "
                                    "tick", value=self.watch.lag_seconds())
            yield GaugeMetricFamily("firefighter_tick_duration_seconds", "How long this process's last tick took",
                                    value=self.watch.last_tick_seconds)


def add_metrics(app: web.Application, db: repo.database.Database, backlog: Callable[[], dict], watch=None) -> None:
    registry = CollectorRegistry()
    registry.register(StoredState(db, backlog, watch))
    latency = Histogram("firefighter_request_duration_seconds", "Time to answer an HTTP request", ["path"],
                        registry=registry, buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
    app[ALERTS_LEFT_OUT] = Counter("firefighter_alerts_truncated", "Alerts Alertmanager left out of the "
                                   "notifications this process received (truncatedAlerts; max_alerts too low)",
                                   registry=registry)

    @web.middleware
    async def timed(request: web.Request, handler):
        started = time.perf_counter()
        try:
            return await handler(request)
        finally:
            path = request.path if request.path in _PATHS else "other"
            latency.labels(path=path).observe(time.perf_counter() - started)

    async def metrics(_request: web.Request) -> web.Response:
        body = await db.run(generate_latest, registry)  # the collector reads the database
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.middlewares.append(timed)
    app.router.add_get("/metrics", metrics)
