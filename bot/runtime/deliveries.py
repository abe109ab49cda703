"""Which handler delivers each kind of delivery: the one table. The kinds are named in bot/delivery/kinds.py; the
handlers live in bot/delivery/; what a handler needs from the use-cases (a click applied, a declaration declared,
who should be in a user group) is handed in here, so delivery/ and services/ never import each other.

A row: the kind, the handler, what is read for it in the claim's own transaction (`prepare`), and whether that read
works apart from the claim (`apart`: bot/delivery/engine.py, register).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.delivery.clicks import ClickAnswers
from bot.delivery.contacts import ContactSends
from bot.delivery.covers import CoverMessages, read_cover
from bot.delivery.declarations import Declarations
from bot.delivery.engine import DeliveryEngine, Handler, Prepare
from bot.delivery.kinds import Kind, TrackerCall, setup_step_kind, tracker_kind
from bot.delivery.messages import Messages, ReminderMessages, anywhere, with_home
from bot.delivery.pages import Pages
from bot.delivery.setup import SETUP, IncidentSetup
from bot.delivery.status_mail import StatusMails
from bot.delivery.storms import StormNews, read_news
from bot.delivery.tracker import TrackerDeliveries
from bot.delivery.usergroups import UserGroupSync


@dataclass(frozen=True)
class Handling:
    handler: Handler
    prepare: Prepare | None = None
    apart: bool = False


@dataclass(frozen=True)
class Handlers:
    """Every delivery handler, built by bot/runtime/wiring.py with what each needs. `apply_click`: the use-case that
    makes a stored click's change (bot/services/clicks.py)."""

    messages: Messages
    reminders: ReminderMessages
    pages: Pages
    setup: IncidentSetup
    declarations: Declarations
    clicks: ClickAnswers
    apply_click: Prepare
    covers: CoverMessages
    storms: StormNews
    usergroups: UserGroupSync
    trackers: TrackerDeliveries
    contacts: ContactSends
    status_mails: StatusMails


def delivery_table(h: Handlers) -> dict[str, Handling]:
    table: dict[str, Handling] = {
        Kind.DECLARE: Handling(h.declarations.deliver, h.declarations.prepare),
        Kind.SETUP: Handling(h.setup.setup, h.setup.prepare),
        **{setup_step_kind(step): Handling(h.setup.one_step(step), h.setup.prepare) for step in SETUP},
        Kind.POST: Handling(h.messages.post),
        Kind.SAY: Handling(h.messages.say, with_home),
        Kind.INVITE: Handling(h.messages.invite, with_home),
        Kind.POSTMORTEM: Handling(h.messages.postmortem, with_home),
        Kind.REFRESH: Handling(h.messages.refresh, h.messages.summary_of),
        Kind.PAGE: Handling(h.pages.send),
        Kind.PAGE_STOPPED: Handling(h.messages.page_stopped, anywhere),
        Kind.REMINDER: Handling(h.reminders.deliver),
        Kind.CLICK: Handling(h.clicks.answer, h.apply_click, apart=True),  # the change is a transaction of its own
        Kind.STORM_NEWS: Handling(h.storms.deliver, read_news),
        Kind.USERGROUP_SYNC: Handling(h.usergroups.sync, h.usergroups.read),
        Kind.COVER_POST: Handling(h.covers.post, read_cover),
        Kind.COVER_REFRESH: Handling(h.covers.refresh, read_cover),
        Kind.CONTACT_PAGE: Handling(h.contacts.page, h.contacts.read_page),
        Kind.CONTACT_CODE: Handling(h.contacts.code, h.contacts.read_method),
        Kind.CONTACT_TEST: Handling(h.contacts.test, h.contacts.read_method),
        Kind.STATUS_MAIL: Handling(h.status_mails.send, h.status_mails.read),
    }
    trackers = h.trackers
    for name in trackers.trackers:  # each tracker configured: `github_open`, `gitlab_sync`, …
        table |= {
            tracker_kind(name, TrackerCall.OPEN): Handling(trackers.open, trackers.read_for_open),
            tracker_kind(name, TrackerCall.SYNC): Handling(trackers.sync, trackers.read),
            tracker_kind(name, TrackerCall.COMMENT): Handling(trackers.comment, trackers.read),
            tracker_kind(name, TrackerCall.FOLLOW_UP_OPEN): Handling(trackers.open_follow_up, trackers.read_follow_up),
            tracker_kind(name, TrackerCall.FOLLOW_UP_SYNC): Handling(trackers.sync_follow_up, trackers.read_follow_up),
        }
    return table


def register_handlers(engine: DeliveryEngine, handlers: Handlers) -> None:
    for kind, handling in delivery_table(handlers).items():
        engine.register(kind, handling.handler, prepare=handling.prepare, apart=handling.apart)
