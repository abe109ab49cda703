"""What a stored message delivery means in Slack calls: the incident's own messages (said in its home, its summary
kept current, people invited, the postmortem prompt), messages to a channel or a person, reminders, and page
buttons taken away. The services decide and store; these only deliver what was decided.
"""

from __future__ import annotations

from collections.abc import Callable

from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.db import repo
from bot.db.models import Delivery, Incident
from bot.delivery.engine import Sent
from bot.delivery.kinds import HOME, Drop, Later
from bot.slack.gateway import SlackGateway, slack_error, transient
from bot.views import incident as incident_views
from bot.views import notices
from bot.views import paging as paging_views

Summary = Callable[[Incident], tuple[str, list[dict]]]
SummaryFrom = Callable[[Session, Incident], Summary]  # reads what the summary shows, renders it later
StillDue = Callable[[str, int | None, int | None], bool]


# Where a message to a channel cannot go: gone, archived, private without the bot, or the bot not in it.
UNREACHABLE_CHANNEL = frozenset({"channel_not_found", "is_archived", "not_in_channel", "restricted_action",
                                 "restricted_action_read_only_channel", "no_permission", "access_denied"})


async def post_at(slack: SlackGateway, place: str, text: str, blocks: list[dict]) -> tuple[str, str] | str:
    """(channel, ts) where it was posted, or Slack's reason it cannot go there. A public channel the bot is not
    in is joined first. Slack being unavailable is raised (the engine retries); an unexpected refusal too."""
    joined = False
    while True:
        try:
            return await slack.post(place, text, blocks)
        except SlackApiError as exc:
            error = slack_error(exc)
            if transient(exc) or error not in UNREACHABLE_CHANNEL:
                raise
            if error != "not_in_channel" or joined or place[0] not in "C#":
                return error
        try:
            await slack.join(place)
        except SlackApiError as exc:
            if transient(exc):
                raise
            return f"not_in_channel; joining it: {slack_error(exc)}"
        joined = True


async def incident_of(db: repo.database.Database, delivery: Delivery, need_home: bool = True) -> Incident:
    """The incident a delivery is about, once it has a place in Slack (until then: later)."""
    return await db.run_background(_incident_of, db, delivery, need_home)


def _incident_of(db: repo.database.Database, delivery: Delivery, need_home: bool) -> Incident:
    with db.session() as session:
        return incident_in(session, delivery, need_home)


def incident_in(session: Session, delivery: Delivery, need_home: bool = True) -> Incident:
    incident = repo.incidents.incident_by_id(session=session, incident_id=delivery.incident_id) \
        if delivery.incident_id else None
    if incident is None:
        raise Drop("the incident is gone")
    if need_home and incident.channel_id is None:
        if "done" in incident.steps_done:
            raise Drop("the incident never got a place in Slack")
        raise Later
    return incident


def with_home(session: Session, delivery: Delivery) -> Incident:
    """The incident, once it has a place in Slack: what its own messages need."""
    return incident_in(session, delivery)


def anywhere(session: Session, delivery: Delivery) -> Incident:
    return incident_in(session, delivery, need_home=False)


class Messages:
    """The incident each message is about is read in the job that claims it (`prepare`)."""

    def __init__(self, db: repo.database.Database, slack: SlackGateway, summary_from: SummaryFrom) -> None:
        self.db, self.slack, self.summary_from = db, slack, summary_from

    def summary_of(self, session: Session, delivery: Delivery) -> tuple[Incident, Summary]:
        incident = incident_in(session, delivery)
        return incident, self.summary_from(session, incident)

    async def post(self, delivery: Delivery, payload: dict) -> None:
        await self.slack.post(payload["channel"], payload["text"], payload.get("blocks"),
                              thread_ts=payload.get("thread_ts"))

    async def page_stopped(self, delivery: Delivery, payload: dict, incident: Incident) -> None:
        text, blocks = paging_views.page_stopped(incident, payload.get("by"), payload.get("via"))
        await self.slack.update(payload["channel"], payload["ts"], text, blocks)

    async def say(self, delivery: Delivery, payload: dict, incident: Incident) -> None:
        await self.slack.post(incident.channel_id, payload["text"], thread_ts=incident.thread_ts)

    async def invite(self, delivery: Delivery, payload: dict, incident: Incident) -> None:
        if incident.thread_ts is None:
            await self.slack.invite(incident.channel_id, payload["users"])

    async def refresh(self, delivery: Delivery, payload: dict, prepared: tuple[Incident, Summary]) -> None:
        incident, summary = prepared
        if not incident.summary_ts:
            return
        text, blocks = summary(incident)
        await self.slack.update(incident.channel_id, incident.summary_ts, text, blocks)
        if incident.thread_ts is None:
            await self.slack.set_topic(incident.channel_id, incident_views.topic(incident))

    async def postmortem(self, delivery: Delivery, payload: dict, incident: Incident) -> Sent | None:
        if not incident.postmortem:
            return None
        _, ts = await self.slack.post(incident.channel_id, notices.postmortem_message(incident),
                                      thread_ts=incident.thread_ts)

        def record(session: Session) -> None:
            stored = session.get(Incident, incident.id)
            stored.postmortem_ts = ts
        return Sent(record)


class ReminderMessages:
    """One reminder message to one recipient — sent only while the reminder is still due (an update may have
    arrived, the incident may be resolved since it was decided: then it is dropped, never sent late)."""

    def __init__(self, db: repo.database.Database, slack: SlackGateway, still_due: StillDue) -> None:
        self.db, self.slack, self.still_due = db, slack, still_due

    async def deliver(self, delivery: Delivery, payload: dict) -> None:
        if not await self.db.run_background(self.still_due, payload["notice"], delivery.incident_id,
                                            payload.get("rotation_id")):
            raise Drop("not due any more")
        to, thread_ts = payload["to"], None
        if to == HOME:
            incident = await incident_of(self.db, delivery)
            to, thread_ts = incident.channel_id, incident.thread_ts
        await self.slack.post(to, payload["text"], payload.get("blocks"), thread_ts=thread_ts)
