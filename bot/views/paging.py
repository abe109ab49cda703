"""What a page looks like: the DM with Acknowledge / Escalate, the mention in the incident channel, `@here`. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from bot.db.models import Incident, Page
from bot.domain.escalation import page_wait
from bot.domain.incident import incident_ref
from bot.domain.visibility import title_for_anyone
from bot.slack.ids import ActionId, BlockId
from bot.slack.text import date_token, escape
from bot.views.incident import PRIORITY_EMOJI, mrkdwn, plain, where

_VIA = {"sms": "SMS", "push": "push", "email": "email"}  # a page acknowledged by its link, sent by…


def _role(page: Page) -> str:
    return f" as *{page.target_role}*" if page.target_role in ("primary", "secondary", "tertiary") else ""


def _buttons(page: Page, escalate: bool = True) -> dict:
    elements = [{"type": "button", "action_id": ActionId.PAGE_ACKNOWLEDGE, "text": plain("Acknowledge"),
                 "value": str(page.id), "style": "primary"}]
    if escalate:
        elements.append({"type": "button", "action_id": ActionId.PAGE_ESCALATE, "text": plain("Escalate"),
                         "value": str(page.id)})
    return {"type": "actions", "block_id": BlockId.PAGE_ACTIONS, "elements": elements}


def page_dm(incident: Incident, page: Page, timeout: timedelta) -> tuple[str, list[dict]]:
    priority = incident.priority
    ref = incident_ref(incident.number)
    line = (f":rotating_light: You are paged{_role(page)} for {PRIORITY_EMOJI[priority]} *{ref}* ({priority.value}): "
            f"{escape(incident.title)}")
    minutes = max(int(page_wait(page.wait_seconds, timeout).total_seconds() // 60), 1)
    details = [f"Join {where(incident)}." if incident.channel_id else "Its channel is being set up.",
               f"Acknowledge within {minutes} min or it escalates."]
    if page.paged_by:
        details.insert(0, f"<@{page.paged_by}> paged you.")
    if page.note:
        details.append(f"_{escape(page.note)}_")
    blocks = [{"type": "section", "text": mrkdwn(line)},
              {"type": "context", "elements": [mrkdwn(" ".join(details))]},
              _buttons(page)]
    return f"You are paged for {ref} ({priority.value}): {escape(incident.title)}", blocks


def page_here(incident: Incident, page: Page) -> tuple[str, list[dict]]:
    ref = incident_ref(incident.number)
    line = (f"<!here> :rotating_light: *{ref}* ({incident.priority}) needs a firefighter: nobody acknowledged "
            f"their page. {escape(title_for_anyone(incident))}. Join {where(incident)}.")
    return f"{ref} needs a firefighter", [{"type": "section", "text": mrkdwn(line)}, _buttons(page, escalate=False)]


def page_mention(incident: Incident, page: Page) -> str:
    by = f" (paged by <@{page.paged_by}>)" if page.paged_by else ""
    return f":pager: <@{page.target_user_id}>, you are paged{_role(page)} for {incident_ref(incident.number)}{by}."


def page_requested(incident: Incident, actor: str, page: Page) -> str:
    whom = f"<@{page.target_user_id}>" if page.target_user_id else "the rotation's channel"
    return f":pager: <@{actor}> is paging {whom}{_role(page)} for {incident_ref(incident.number)}."


def page_stopped(incident: Incident, by: str | None = None, via: str | None = None) -> tuple[str, list[dict]]:
    """What a page turns into once nobody needs to answer it any more (its buttons go). `by`, `via`: who
    acknowledged, and how when not in Slack ("SMS link")."""
    ref = incident_ref(incident.number)
    status = incident.status
    if not status.is_open:
        line = f":white_check_mark: *{ref}* is {status.label.lower()}: no need to respond."
    elif not incident.priority.pages:
        line = f":arrow_down: *{ref}* is now {incident.priority}: it no longer pages anyone."
    else:
        who = f" <@{incident.commander_id}> commands it." if incident.commander_id else ""
        how = f" by <@{by}> via {via}" if by and via else ""  # (a Slack button: the commander line says who)
        line = f":white_check_mark: *{ref}* was acknowledged{how}.{who}"
    return line.replace("*", ""), [{"type": "section", "text": mrkdwn(line)}]


def paging_line(pages: Sequence[Page], timeout: timedelta) -> str | None:
    """For the pinned summary: who is being paged right now, or who acknowledged."""
    live = [p for p in pages if p.state in ("queued", "waiting")]
    if live:
        page = live[-1]
        whom = f"<@{page.target_user_id}>" if page.target_user_id else f"@here in <#{page.target_channel}>"
        line = f":pager: Paging {whom}{_role(page).replace('*', '')}"
        if page.sent_at and page.target_user_id:
            line += (f" — escalates {date_token(page.sent_at + page_wait(page.wait_seconds, timeout), '{time}')} if "
                     "nobody acknowledges")
        return line
    acked = [p for p in pages if p.acknowledged_by]
    if acked:
        via = f" via {_VIA[acked[-1].acknowledged_via]} link" if acked[-1].acknowledged_via in _VIA else ""
        return f":white_check_mark: Page acknowledged by <@{acked[-1].acknowledged_by}>{via}"
    return None


def page_closed(page) -> str:
    if page is not None and page.acknowledged_by:
        return f"This page was already acknowledged by <@{page.acknowledged_by}>."
    return "This page is no longer open: it was answered or escalated to the next person."
