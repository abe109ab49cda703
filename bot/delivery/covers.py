"""A "cover me" request's message in the rotation's channel: posted once (its ts recorded under the claim), and
edited to say who took it, that it was withdrawn or that it expired — from the request as it is when it goes out."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlmodel import Session

from bot.clock import Clock
from bot.db import repo
from bot.db.models import CoverRequest, Delivery
from bot.delivery.engine import DeliveryEngine, Sent
from bot.delivery.kinds import Drop, Kind, Refused, user_lane
from bot.delivery.messages import post_at
from bot.slack.gateway import SlackGateway
from bot.views.covers import request_message


@dataclass(frozen=True)
class Found:
    cover: CoverRequest
    rotation_name: str
    channel_id: str


def read_cover(session: Session, delivery: Delivery) -> Found:
    cover = repo.covers.cover_by_id(session=session, cover_id=json.loads(delivery.payload)["cover_id"])
    rotation = repo.rotations.rotation_by_id(session=session, rotation_id=cover.rotation_id) if cover else None
    if cover is None or rotation is None:
        raise Drop("the request or its rotation is gone")
    return Found(cover, rotation.name, rotation.channel_id)


class CoverMessages:
    def __init__(self, engine: DeliveryEngine, slack: SlackGateway, clock: Clock) -> None:
        self.engine, self.slack, self.clock = engine, slack, clock

    async def post(self, delivery: Delivery, payload: dict, found: Found) -> Sent:
        text, blocks = request_message(found.cover, found.rotation_name)
        where = await post_at(self.slack, found.channel_id, text, blocks)
        if isinstance(where, str):
            raise Refused(where, self._not_posted(found, where))
        channel, ts = where
        cover_id = found.cover.id

        def record(session: Session) -> None:
            stored = session.get(CoverRequest, cover_id)
            stored.channel_id, stored.message_ts = channel, ts
        return Sent(record)

    def _not_posted(self, found: Found, error: str):
        """The requester hears that nobody can press I'll cover (the channel is gone, private without the bot)."""
        now, requester = self.clock.now(), found.cover.requester

        def record(session: Session) -> None:
            self.engine.queue(session, lane=user_lane(requester), kind=Kind.POST, now=now, channel=requester, text=(
                f":warning: I could not post your request for cover in <#{found.channel_id}> (Slack said "
                f"`{error}`), so nobody can take it there. Ask someone directly, or invite me to the channel and "
                "ask again."))
        return record

    async def refresh(self, delivery: Delivery, payload: dict, found: Found) -> None:
        if not found.cover.message_ts or not found.cover.channel_id:
            raise Drop("the request was never posted")
        text, blocks = request_message(found.cover, found.rotation_name)
        await self.slack.update(found.cover.channel_id, found.cover.message_ts, text, blocks)
