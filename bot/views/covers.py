""""Cover me" requests in Block Kit: the request in the rotation's channel (with its buttons while it is open, and
who took it once it is taken), and what the roster and the requester are told. Pure."""

from __future__ import annotations

from bot.db.models import CoverRequest
from bot.slack.ids import ActionId, BlockId
from bot.slack.text import date_token, escape
from bot.views.incident import mrkdwn, plain


def _span(cover: CoverRequest) -> str:
    return f"from {date_token(cover.starts_at)} to {date_token(cover.ends_at)}"


def _reason(cover: CoverRequest) -> str:
    return f"\n> {escape(cover.reason)}" if cover.reason else ""


def request_message(cover: CoverRequest, rotation_name: str) -> tuple[str, list[dict]]:
    """As the request stands now: open (with I'll cover / Withdraw), taken, withdrawn or expired."""
    what = f"*{cover.role}* on `{escape(rotation_name)}` {_span(cover)}"
    if cover.state == "taken":
        line = f":white_check_mark: <@{cover.taken_by}> covers <@{cover.requester}> as {what}."
    elif cover.state == "withdrawn":
        line = f":heavy_multiplication_x: <@{cover.requester}> withdrew their request for cover as {what}."
    elif cover.state == "expired":
        line = f":hourglass: Nobody covered <@{cover.requester}> as {what}; the request has expired."
    else:
        line = f":sos: <@{cover.requester}> asks for someone to cover {what}.{_reason(cover)}"
    blocks: list[dict] = [{"type": "section", "text": mrkdwn(line)}]
    if cover.state == "open":
        value = str(cover.id)
        blocks.append({"type": "actions", "block_id": BlockId.COVER_ACTIONS, "elements": [
            {"type": "button", "action_id": ActionId.COVER_TAKE, "text": plain("I'll cover"), "value": value,
             "style": "primary"},
            {"type": "button", "action_id": ActionId.COVER_WITHDRAW, "text": plain("Withdraw"), "value": value},
        ]})
    text = line.split("\n")[0]
    return text, blocks


def asked(cover: CoverRequest, rotation_name: str, channel_id: str) -> str:
    """To a roster member inside business hours when the request is made (once)."""
    return (f":sos: <@{cover.requester}> asks for someone to cover *{cover.role}* on `{escape(rotation_name)}` "
            f"{_span(cover)}.{_reason(cover)}\nPress *I'll cover* on the request in <#{channel_id}> to take it.")


def taken(cover: CoverRequest, rotation_name: str) -> str:
    return (f":white_check_mark: <@{cover.taken_by}> covers you as *{cover.role}* on `{escape(rotation_name)}` "
            f"{_span(cover)}.")


def expired(cover: CoverRequest, rotation_name: str) -> str:
    return (f":hourglass: Nobody took your request for cover as *{cover.role}* on `{escape(rotation_name)}` "
            f"{_span(cover)}, and it has begun: the shift is still yours. Ask someone directly, or set an override "
            "with `/incident rotation override`.")
