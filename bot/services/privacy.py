"""`private INC-n` (SPEC § Incident types, private incidents and roles): a public incident made private later moves
to a new private channel with its timeline; nothing is archived. One change like any other (its lock, its
permission, a timeline event, once per request): the incident is marked private with its people as members, its set-up
runs again for a private home (bot/delivery/setup.py: a private channel, the reporter and commander invited, the
topic, the pinned summary), then its people are invited and its timeline is said there; the old channel hears where
it went, and only that."""

from __future__ import annotations

from bot.db import repo
from bot.db.models import Incident
from bot.delivery.kinds import Kind, incident_lane
from bot.domain import lifecycle
from bot.domain.errors import UserError
from bot.domain.incident import incident_ref
from bot.services.outcomes import Changed, Effects, Outcome
from bot.services.working import Working
from bot.slack.text import truncate
from bot.views.incident import event_line

MOVED_EVENTS = 30  # the newest, said in the new channel (the web board and `timeline` keep them all)


def make_private(working: Working, number: int, actor: str, request_key: str | None = None) -> Changed:
    def apply(session, incident: Incident, now):
        ref = incident_ref(number)
        if incident.private:
            raise UserError(f"{ref} is private already.")
        lifecycle.require_open(number, incident.status, "make it private", incident.duplicate_of)
        people = [u for u in dict.fromkeys((
            actor, incident.reporter_id, incident.commander_id, incident.comms_id, incident.scribe_id,
            *repo.incidents.responder_ids(session=session, incident_id=incident.id),
            *repo.pages.paged_users(session=session, incident_id=incident.id))) if u]
        old = incident.channel_id if incident.thread_ts is None else None
        if incident.channel_id:  # what is said or marked there from now on is no longer this incident's
            repo.messages.forget_channel(session=session, incident_id=incident.id, channel_id=incident.channel_id)
        events = repo.timeline.events_for(session=session, incident_id=incident.id)
        incident.private = True
        repo.incidents.add_members(session=session, incident_id=incident.id, user_ids=people, at=now)
        # A new home: set up again, but neither declared to its reporter nor announced again.
        incident.channel_id = incident.channel_name = incident.thread_ts = incident.summary_ts = None
        incident.slack_steps_done = "reply,announce"
        working.outbox.queue(session, lane=incident_lane(incident.id), kind=Kind.SETUP, now=now,
                             incident_id=incident.id)
        if old:
            working.outbox.queue_post(session, old, f":lock: <@{actor}> made {ref} private: it goes on in a private "
                                      "channel, and nothing more of it is said here. Ask its commander "
                                      f"{'<@' + incident.commander_id + '>' if incident.commander_id else ''} to "
                                      "add you if you work on it.", now)
        lines = "\n".join(event_line(e) for e in events[-MOVED_EVENTS:])
        said = truncate(f":lock: <@{actor}> made {ref} private and moved it here (the old channel keeps what was "
                        f"said there). Its timeline so far:\n{lines}", 3000)
        return Outcome("private", "made private: moved to a private channel",
                       Effects(said, invite=tuple(people)))
    return working.change(number, actor, apply, request_key)
