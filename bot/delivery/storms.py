"""A storm's news in its channel: the alerts that joined (or resolved) since the last list, a batch per message,
then its summary refreshed. One message owed at a time (`AlertStorm.news_owed`): a burst of 200 alerts is a couple
of messages, not 200."""

from __future__ import annotations

import json
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.clock import Clock
from bot.db import repo
from bot.db.edge_models import AlertStorm, StormAlert
from bot.db.models import Delivery, Incident
from bot.delivery.engine import DeliveryEngine, Sent
from bot.delivery.kinds import Kind, Refused, incident_lane
from bot.delivery.messages import incident_in
from bot.slack.gateway import SlackGateway, slack_error, transient
from bot.views import storms as views

BATCH = 100  # alerts listed in one message (a few sections of Block Kit)


@dataclass(frozen=True)
class News:
    incident: Incident
    storm_id: int
    alerts: list[StormAlert]
    counts: dict[str, int]


def read_news(session: Session, delivery: Delivery) -> News:
    incident = incident_in(session, delivery)  # (later, until the storm has its channel)
    storm_id = json.loads(delivery.payload)["storm_id"]
    return News(incident, storm_id, repo.storms.storm_news(session=session, storm_id=storm_id, limit=BATCH),
                repo.storms.storm_counts(session=session, storm_id=storm_id))


class StormNews:
    def __init__(self, engine: DeliveryEngine, slack: SlackGateway, clock: Clock) -> None:
        self.engine, self.slack, self.clock = engine, slack, clock

    async def deliver(self, delivery: Delivery, payload: dict, news: News) -> Sent:
        listed = 0
        if news.alerts:
            text, blocks, listed = views.news(news.alerts, news.counts)
            try:
                await self.slack.post(news.incident.channel_id, text, blocks, thread_ts=news.incident.thread_ts)
            except SlackApiError as exc:
                if transient(exc):
                    raise
                told = [(alert.id, alert.state) for alert in news.alerts[:listed]]
                raise Refused(slack_error(exc), lambda session: repo.storms.storm_news_dropped(
                    session=session, storm_id=news.storm_id, told=told)) from None  # the next alert tries again
        told = [(alert.id, alert.state) for alert in news.alerts[:listed]]
        now, incident_id, storm_id = self.clock.now(), news.incident.id, news.storm_id

        def record(session: Session) -> None:
            """Under the storm's lock: an alert joining meanwhile either waits and then finds no news owed (and
            queues it), or was committed first and is found here."""
            repo.storms.storm_for_change(session=session, incident_id=incident_id, storm_id=storm_id)
            repo.storms.storm_told(session=session, told=told)
            lane = incident_lane(incident_id)
            if repo.storms.storm_news(session=session, storm_id=storm_id, limit=1):
                self.engine.queue(session, lane=lane, kind=Kind.STORM_NEWS, now=now, incident_id=incident_id,
                                  storm_id=storm_id)
            else:
                session.get(AlertStorm, storm_id).news_owed = False
            self.engine.queue(session, lane=lane, kind=Kind.REFRESH, now=now, incident_id=incident_id)
        return Sent(record)
