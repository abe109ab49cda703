"""Working an incident: every change is checked (who, which transition), stored with its timeline event in one
transaction, and only then told to Slack in the background.

A request key (the modal's view id, the command's or button's trigger id) is stored on the event, so a request
Slack sends twice — a retry, a double submit — is applied once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.db.models import Incident
from bot.domain import lifecycle
from bot.domain.api import ApiActor
from bot.domain.contacts import Method
from bot.domain.errors import Invalid, UserError
from bot.domain.incident import Priority, Status, incident_ref
from bot.domain.rotation import Role
from bot.domain.tracker import TrackerActor
from bot.domain.visibility import title_for_anyone
from bot.services.outbox import Outbox
from bot.services.outcomes import Changed, Effects, Outcome, Resolution, mentions
from bot.services.paging import Paging
from bot.services.rotations import Rotations
from bot.services.tracking import TrackerOut
from bot.services.visibility import hidden
from bot.slack.text import escape, safe
from bot.views import notices
from bot.views import paging as paging_views
from bot.views.postmortem import postmortem

log = logging.getLogger(__name__)


Apply = Callable[[Session, Incident, datetime], Outcome | None]
Outsider = TrackerActor | ApiActor  # acts without a Slack id: named on the timeline as itself


class Working:
    """`rotations`: who may act (firefighters on call count) and where to announce; `paging`: chains to start
    and stop as the incident changes; `trackers`: what the issue trackers hear of each change."""

    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock, outbox: Outbox,
                 rotations: Rotations, paging: Paging, trackers: TrackerOut) -> None:
        self.settings, self.db, self.clock, self.outbox = settings, db, clock, outbox
        self.rotations, self.paging, self.trackers = rotations, paging, trackers

    # -- the one path every change takes ---------------------------------------------------------------

    def _change(self, number: int, actor: str | None, apply: Apply, request_key: str | None = None, *,
                check_permission: bool = True, external: Outsider | None = None) -> Changed:
        """One transaction, tried again if PostgreSQL rolls it back to break a deadlock. `external`: the change
        came from an issue tracker (its webhook is authenticated: no Slack permission to check; not told back) or
        an API token (its scope was checked at the edge; a private incident is there only for an admin token)."""
        changed = repo.database.retry_on_deadlock(self._change_once, number, actor, apply, request_key,
                                                  check_permission and external is None, external)
        if changed.changed:
            # What it owes Slack goes out once the requests in flight are answered (a burst of clicks is acked
            # first; pages it stopped or started go first); the tick is the backstop.
            self.outbox.flush_after_acks(name="changes")
        return changed

    def _change_once(self, number: int, actor: str | None, apply: Apply, request_key: str | None,
                     check_permission: bool, external: Outsider | None) -> Changed:
        with self.db.session() as session:
            incident = repo.incidents.incident_for_change(session=session, number=number)  # changes to it queue up here
            if incident is None:
                raise UserError(f"There is no {incident_ref(number)}.")
            # Read once the lock is held: the timeline's order (by time) is then the order the changes were made in
            # — a change that waited for another is later than it, whenever it arrived.
            now = self.clock.now()
            if check_permission:  # before the replay check: a replayed key never lets a stranger's form close quietly
                self._require_permission(session, incident, actor, now)
            elif incident.private and isinstance(external, ApiActor) and not external.sees_private:
                raise UserError(f"There is no {incident_ref(number)}.")
            if request_key and repo.timeline.event_by_request_key(session=session, request_key=request_key):
                return Changed(incident, changed=False, replayed=True)
            outcome = apply(session, incident, now)
            if outcome is None:
                return Changed(incident, changed=False)
            incident.updated_at = now
            repo.timeline.add_event(session=session, incident_id=incident.id, at=now, actor_id=actor, kind=outcome.kind,
                                    text=outcome.text + (f" ({escape(str(external))})" if external else ""),
                                    request_key=request_key)
            if outcome.finish:
                session.flush()
                outcome.finish(session, incident)
            self.outbox.queue_effects(session, incident, outcome.effects, now)  # committed with the change itself
            self.trackers.changed(session, incident, outcome, now, external.tracker if external else None)
            try:
                session.commit()
            except IntegrityError as exc:
                session.rollback()
                return self._conflict(number, request_key, exc)
        return Changed(incident, changed=True)

    def change(self, number: int, actor: str | None, apply: Apply, request_key: str | None = None, *,
               check_permission: bool = True, external: Outsider | None = None) -> Changed:
        """A change made elsewhere (a follow-up's) the way every change is: permission (unless the caller knows
        better: a follow-up's owner may mark their own; `external`: it came from an issue tracker), timeline event,
        once."""
        return self._change(number, actor, apply, request_key, check_permission=check_permission, external=external)

    def _conflict(self, number: int, request_key: str | None, exc: IntegrityError) -> Changed:
        """A unique key refused the change. If this very request was applied meanwhile (Slack's retry through
        another replica) it is a replay; anything else is said as it is, and nothing was stored."""
        with self.db.session() as session:
            if request_key and repo.timeline.event_by_request_key(session=session, request_key=request_key):
                return Changed(repo.incidents.incident_by_number(session=session, number=number), changed=False,
                               replayed=True)
        log.warning("%s: change refused by the database: %s", incident_ref(number), exc.orig)
        raise UserError(f"{incident_ref(number)} changed at the same moment and this change clashed with it; "
                        "nothing was stored. Look at `/incident show` and try again if it is still needed.")

    def ensure_changeable(self, number: int, actor: str, form: str) -> Incident:
        """Before opening the `update` or `resolve` form: may this person do that to this incident right now?"""
        with self.db.session() as session:
            incident = repo.incidents.incident_by_number(session=session, number=number)
            if incident is None:
                raise UserError(f"There is no {incident_ref(number)}.")
            self._require_permission(session, incident, actor, self.clock.now())
        if form == "resolve":
            lifecycle.check_resolve(number, incident.status, incident.duplicate_of)
        else:
            lifecycle.require_open(number, incident.status, "post an update", incident.duplicate_of)
        return incident

    def _require_permission(self, session: Session, incident: Incident, actor: str, now: datetime) -> None:
        """Read only as far as needed, cheapest first: most changes come from the commander or the roster."""
        def firefighters() -> Iterator[str]:
            if incident.rotation_id is not None:
                yield from repo.rotations.rotation_member_ids(session=session, rotation_id=incident.rotation_id)
            yield from repo.pages.paged_users(session=session, incident_id=incident.id)  # asked to respond: may act
            oncall = self.rotations.on_call_for(session, incident, now)
            yield from oncall.people if oncall else ()  # on call by an override counts too

        if hidden(session, incident, actor, self.settings.admins):
            raise UserError(f"There is no {incident_ref(incident.number)}.")  # a private one: not even that
        if not lifecycle.may_change(actor, commander=incident.commander_id,
                                    responders=lambda: repo.incidents.responder_ids(session=session,
                                                                                    incident_id=incident.id),
                                    firefighters=firefighters, admins=self.settings.admins):
            raise UserError(lifecycle.not_allowed(incident.number, incident.commander_id))

    # -- the changes ------------------------------------------------------------------------------------

    @staticmethod
    def _stop_paging(session: Session, incident: Incident, user_id: str | None,
                     now: datetime, via: str | None = None) -> tuple[tuple[str, str], ...]:
        """Every live page stops (their messages lose their buttons); with a user, that person acknowledged
        (`via`: by a page's link sent by SMS, push or email)."""
        if incident.acknowledged_at is None and user_id:
            incident.acknowledged_at = now
        stopped = repo.pages.stop_pages(session=session, incident_id=incident.id, now=now, user_id=user_id, via=via)
        return tuple((channel, ts) for channel, ts in stopped if channel and ts)

    def acknowledge(self, number: int, user_id: str | None, request_key: str | None = None, *, anyone: bool = False,
                    link: tuple[int, str] | None = None, external: ApiActor | None = None) -> Changed:
        """`anyone`: the `@here` page asks the whole channel, so whoever answers it may acknowledge. `link`: (page
        id, method) of a page's one-click link, good only while that page is open. `external`: a token (no
        Slack id: nobody takes command)."""
        via = f"{Method(link[1]).label} link" if link else None

        def apply(session, incident: Incident, now):
            lifecycle.require_open(number, incident.status, "acknowledge it", incident.duplicate_of)
            if link is not None:
                page = repo.pages.page_by_id(session=session, page_id=link[0])
                if page is None or page.state not in ("queued", "waiting"):
                    raise UserError(paging_views.page_closed(page))
            first, took = incident.acknowledged_at is None, incident.commander_id is None and user_id is not None
            incident.acknowledged_at = incident.acknowledged_at or (now if external else None)
            if took:  # set before the pages are read, so it is written in the same UPDATE as the acknowledgement
                incident.commander_id = user_id
            pages = self._stop_paging(session, incident, user_id, now, link[1] if link else None)
            if not first and not pages:  # nothing changes: the session is not committed
                incident.commander_id = None if took else incident.commander_id
                return None
            text = "acknowledged" + (f" via {via}" if via else "") + \
                (f" and took command (<@{user_id}> is commander)" if took else "")
            return Outcome("acknowledged", text, Effects(
                notices.acknowledged(incident, user_id or external, took, via), refresh=first or took,
                invite=(user_id,) if user_id and (took or incident.private) else (),  # (an @here answer joins)
                stopped_pages=pages, acknowledged=(user_id, via) if user_id else None))
        return self._change(number, user_id, apply, request_key, check_permission=not anyone, external=external)

    def acknowledge_page(self, page_id: int, user_id: str, request_key: str | None = None) -> Changed:
        page, number = self.paging.page_incident(page_id)
        return self.acknowledge(number, user_id, request_key, anyone=page.target_role == "channel")

    # -- paging by hand -----------------------------------------------------------------------------------

    def page(self, number: int, actor: str, who: str, request_key: str | None = None) -> Changed:
        """`/incident page <primary|secondary|tertiary|@user>`: a new chain starting there."""
        def apply(session, incident: Incident, now):
            if not incident.status.is_open:
                raise UserError(f"{incident_ref(number)} is {incident.status.label.lower()}; "
                                "pages are for open incidents.")
            if who in Role._value2member_map_:
                oncall = self.rotations.on_call_for(session, incident, now)
                if oncall is None:
                    raise UserError(f"{incident_ref(number)} has no rotation; page someone by name: "
                                    f"`/incident page {incident_ref(number)} @someone`.")
                if oncall.holder(Role(who)) is None:
                    raise UserError(f"Nobody is {who} on the rotation right now.")
            page = self.paging.start_chain(session, incident, now, start=who, paged_by=actor)
            if page is None:
                raise UserError("There is nobody to page.")
            whom = f"<@{page.target_user_id}>" if page.target_user_id else "the rotation's channel"
            return Outcome("page", f"asked to page {whom}" + (f" ({page.target_role})" if page.target_user_id and
                                                               page.target_role != "person" else ""),
                           Effects(paging_views.page_requested(incident, actor, page), refresh=False))
        return self._change(number, actor, apply, request_key)

    def take_command(self, number: int, user_id: str, request_key: str | None = None) -> Changed:
        return self.set_commander(number, user_id, user_id, request_key, taking=True)

    def set_commander(self, number: int, actor: str, commander: str, request_key: str | None = None, *,
                      taking: bool = False) -> Changed:
        def apply(session, incident: Incident, now):
            if incident.commander_id == commander:
                if taking:
                    return None
                raise UserError(f"<@{commander}> already commands {incident_ref(number)}.")
            lifecycle.require_open(number, incident.status, "change its commander", incident.duplicate_of)
            previous = incident.commander_id
            incident.commander_id = commander
            pages = self._stop_paging(session, incident, actor, now) if taking else ()
            text = f"<@{commander}> is commander" + (f" (was <@{previous}>)" if previous else "")
            return Outcome("commander", text, Effects(notices.new_commander(incident, actor, commander),
                                                      invite=(commander,), stopped_pages=pages))
        return self._change(number, actor, apply, request_key)

    def post_update(self, number: int, user_id: str | None, text: str, request_key: str | None = None, *,
                    external: ApiActor | None = None) -> Changed:
        body = text.strip()
        if not body:
            raise Invalid("An update needs some text: what changed, what is next?")
        if len(body) > lifecycle.UPDATE_MAX:
            raise Invalid(f"Keep an update to {lifecycle.UPDATE_MAX} characters (it has {len(body)}).")

        def apply(session, incident: Incident, now):
            lifecycle.require_open(number, incident.status, "post an update", incident.duplicate_of)
            incident.last_update_at = now
            return Outcome("update", body, Effects(notices.update(incident, user_id or external, safe(body)),
                                                   refresh=False))
        return self._change(number, user_id, apply, request_key, external=external)

    def set_status(self, number: int, user_id: str | None, target: Status, note: str = "",
                   request_key: str | None = None, *, external: ApiActor | None = None) -> Changed:
        if target is Status.RESOLVED:
            return self.resolve(number, user_id, Resolution(summary=note), request_key, external=external)
        if target is Status.CLOSED:
            return self.close(number, user_id, note, request_key, external=external)
        note = lifecycle.bounded(note, "note")

        def apply(session, incident: Incident, now):
            current = incident.status
            lifecycle.check_status_change(number, current, target, incident.duplicate_of)
            incident.status = target
            # Moving it out of `new` means someone has looked at it: that is what acknowledging means.
            if current is Status.NEW:  # (a token acknowledges too, without a Slack id)
                incident.acknowledged_at = incident.acknowledged_at or (now if external else None)
            pages = self._stop_paging(session, incident, user_id, now) if current is Status.NEW else ()
            text = f"{current.label} → {target.label}" + (f": {note}" if note else "")
            return Outcome("status", text, Effects(notices.status(incident, user_id or external, current, safe(note)),
                                                   stopped_pages=pages))
        return self._change(number, user_id, apply, request_key, external=external)

    def set_priority(self, number: int, user_id: str | None, target: Priority, request_key: str | None = None, *,
                     external: Outsider | None = None) -> Changed:
        """`user_id` None (and no `external`): a more urgent alert joined the storm this incident is."""
        who = user_id or external or "A more urgent alert"

        def apply(session, incident: Incident, now):
            current = incident.priority
            lifecycle.check_priority_change(number, incident.status, current, target, incident.duplicate_of)
            incident.priority = target
            if lifecycle.is_raise_to_p0(current, target):
                incident.p0_since = now  # hourly updates are owed from now on
            elsewhere = ()
            announce_in = self.rotations.announcement_channel(incident, session)
            own_channel = incident.channel_id if incident.thread_ts is None else None
            if lifecycle.is_raise_to_p0(current, target) and announce_in and announce_in != own_channel:
                elsewhere = ((announce_in, None, notices.raised_to_p0(incident, who)),)
            stopped: tuple[tuple[str, str], ...] = ()
            if not target.pages:  # P2 is ordinary work: nobody is paged for it
                stopped = self._stop_paging(session, incident, None, now)
            elif not current.pages and incident.acknowledged_at is None and not repo.pages.live_pages(
                    session=session, incident_id=incident.id):
                self.paging.start_chain(session, incident, now)  # raised, and nobody is on it yet
            return Outcome("priority", f"{current.value} → {target.value}",
                           Effects(notices.priority(incident, who, current), elsewhere=elsewhere,
                                   stopped_pages=stopped))
        return self._change(number, user_id, apply, request_key, check_permission=user_id is not None,
                            external=external)

    def add_responders(self, number: int, actor: str, users: Sequence[str], request_key: str | None = None) -> Changed:
        def apply(session, incident: Incident, now):
            lifecycle.require_open(number, incident.status, "add responders", incident.duplicate_of)
            present = set(repo.incidents.responder_ids(session=session, incident_id=incident.id))
            new = [u for u in dict.fromkeys(users) if u not in present]
            if not new:
                raise UserError(f"{mentions(users)} already {'is a responder' if len(users) == 1 else 'are responders'}"
                                f" on {incident_ref(number)}.")
            for user in new:
                repo.incidents.add_responder(session=session, incident_id=incident.id, user_id=user, at=now)
            return Outcome("responders", f"added {mentions(new)}",
                           Effects(notices.responders(incident, actor, new, added=True), invite=tuple(new)))
        return self._change(number, actor, apply, request_key)

    def remove_responders(self, number: int, actor: str, users: Sequence[str],
                          request_key: str | None = None) -> Changed:
        def apply(session, incident: Incident, now):
            lifecycle.require_open(number, incident.status, "remove responders", incident.duplicate_of)
            present = set(repo.incidents.responder_ids(session=session, incident_id=incident.id))
            missing = [u for u in users if u not in present]
            if missing:
                verb = "is not a responder" if len(missing) == 1 else "are not responders"
                raise UserError(f"{mentions(missing)} {verb} on {incident_ref(number)}.")
            gone = list(dict.fromkeys(users))
            for user in gone:
                repo.incidents.remove_responder(session=session, incident_id=incident.id, user_id=user)
            return Outcome("responders", f"removed {mentions(gone)}",
                           Effects(notices.responders(incident, actor, gone, added=False)))
        return self._change(number, actor, apply, request_key)

    def resolve(self, number: int, user_id: str | None, resolution: Resolution,
                request_key: str | None = None, *, external: Outsider | None = None) -> Changed:
        """`user_id` None: the alert that opened it says it is over (no person, so no permission to check), or
        `external`: its issue was closed."""
        summary = resolution.summary.strip()
        if not summary:
            raise Invalid("Say in a sentence how it was resolved.")
        if len(summary) > lifecycle.UPDATE_MAX:
            raise Invalid(f"Keep the summary to {lifecycle.UPDATE_MAX} characters (it has {len(summary)}).")
        follow_ups = tuple(f.strip() for f in resolution.follow_ups if f.strip())

        def apply(session, incident: Incident, now):
            lifecycle.check_resolve(number, incident.status, incident.duplicate_of)
            incident.status = Status.RESOLVED
            incident.resolved_at = now
            stopped = self._stop_paging(session, incident, None, now)
            incident.resolution = summary
            incident.needed_rollback = resolution.needed_rollback
            incident.follow_ups = "\n".join(follow_ups)
            for line in follow_ups:  # each line is a follow-up of its own, the commander's to chase
                item = repo.follow_ups.add_follow_up(session=session, incident_id=incident.id, text=line[:500],
                                                     owner=incident.commander_id or user_id or "", due_on=None,
                                                     created_by=user_id or "", now=now)
                session.flush()
                self.trackers.follow_up(session, incident, item.id, now, opened=True,  # an issue too
                                        origin=external.tracker if external else None)
            analysis = incident.priority is Priority.P0 or bool(resolution.needed_rollback)
            finish = self._write_postmortem if analysis else None
            return Outcome("resolved", summary, Effects(notices.resolved(incident, user_id or external, safe(summary),
                                                                         follow_ups, analysis),
                                                        postmortem=analysis, stopped_pages=stopped), finish=finish)
        return self._change(number, user_id, apply, request_key, check_permission=user_id is not None,
                            external=external)

    def _write_postmortem(self, session: Session, incident: Incident) -> None:
        """The incident analysis draft is stored with the resolution, so it is never lost and `timeline` finds it."""
        events = repo.timeline.events_for(session=session, incident_id=incident.id)
        responders = repo.incidents.responder_ids(session=session, incident_id=incident.id)
        incident.postmortem = postmortem(incident, events, responders, self.settings.team_timezone,
                                         repo.follow_ups.follow_ups_of(session=session, incident_id=incident.id))

    def reopen(self, number: int, user_id: str | None, reason: str = "", request_key: str | None = None, *,
               external: Outsider | None = None) -> Changed:
        """`user_id` None (and no `external`): an alert joined the storm this incident is, after it was resolved."""
        reason = reason.strip()

        def apply(session, incident: Incident, now):
            lifecycle.check_reopen(number, incident.status, incident.duplicate_of)
            incident.status = lifecycle.REOPENED_STATUS
            incident.resolved_at = None
            incident.postmortem, incident.postmortem_ts = "", None  # the next resolution writes its own
            incident.reopen_count += 1
            if incident.commander_id is None and user_id:
                incident.commander_id = user_id
            return Outcome("reopened", reason or "reopened",
                           Effects(notices.reopened(incident, user_id or external or "A new alert", safe(reason))))
        return self._change(number, user_id, apply, request_key, check_permission=user_id is not None,
                            external=external)

    def mark_duplicate(self, number: int, user_id: str, original: int, request_key: str | None = None) -> Changed:
        def apply(session, incident: Incident, now):
            target = repo.incidents.incident_by_number(session=session, number=original) if original != number else None
            if target is not None and hidden(session, target, user_id, self.settings.admins):
                raise UserError(f"There is no {incident_ref(original)}.")
            lifecycle.check_duplicate(number, incident.status, original,
                                      target.status if target else None,
                                      target.duplicate_of if target else None, incident.duplicate_of)
            assert target is not None
            incident.status = Status.DUPLICATE
            incident.duplicate_of = original
            stopped = self._stop_paging(session, incident, None, now)
            repo.timeline.add_event(session=session, incident_id=target.id, at=now, actor_id=user_id,
                                    kind="duplicate", text=f"{incident_ref(number)} "
                                    f"({escape(title_for_anyone(incident))}) is a duplicate of this incident")
            elsewhere = ((target.channel_id, target.thread_ts, notices.has_duplicate(target, incident, user_id)),) \
                if target.channel_id else ()
            return Outcome("duplicate", f"duplicate of {incident_ref(original)}",
                           Effects(notices.duplicate(incident, user_id, target), elsewhere=elsewhere,
                                   stopped_pages=stopped))
        return self._change(number, user_id, apply, request_key)

    def close(self, number: int, user_id: str | None, reason: str = "", request_key: str | None = None, *,
              external: ApiActor | None = None) -> Changed:
        reason = lifecycle.bounded(reason, "reason")

        def apply(session, incident: Incident, now):
            lifecycle.require_open(number, incident.status, "close it", incident.duplicate_of)
            incident.status = Status.CLOSED
            stopped = self._stop_paging(session, incident, None, now)
            return Outcome("closed", reason or "closed", Effects(notices.closed(incident, user_id or external,
                                                                                safe(reason)), stopped_pages=stopped))
        return self._change(number, user_id, apply, request_key, external=external)

    def add_handoff_note(self, number: int, user_id: str, text: str, request_key: str | None = None) -> Changed:
        body = text.strip()
        if not body:
            raise UserError("A handoff note needs some text.")

        def apply(session, incident: Incident, now):
            return Outcome("handoff note", body, Effects(
                f":memo: *Handoff note on {incident_ref(number)}* from <@{user_id}>:\n"
                f"{safe(body)}", refresh=False))
        return self._change(number, user_id, apply, request_key)

