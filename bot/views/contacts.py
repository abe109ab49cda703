"""A person's contact methods and rules, as `me contacts` answers and the App Home shows them. Pure."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.domain.contacts import Method, rules_text, shown_address
from bot.slack.ids import ActionId
from bot.slack.text import escape
from bot.views.incident import mrkdwn, plain

if TYPE_CHECKING:
    from bot.services.contacts import PersonsContacts


def _method_line(method) -> str:
    kind = Method(method.kind)
    state = "verified" if method.verified_at else \
        "not verified yet: pages nobody (`/incident me contact verify <code>`)"
    return f"• *{kind.label}* {escape(shown_address(kind, method.address))} — {state}"


def contacts_text(mine: PersonsContacts) -> str:
    if mine.methods:
        lines = ["*Your contact methods*", *(_method_line(m) for m in mine.methods)]
    else:
        lines = ["You have no contact method beyond Slack."]
    lines.append(f"*Your rules*: {rules_text(mine.rules)} (`/incident me rules slack 0, sms 2m`)")
    if mine.offered:
        lines.append(f"Kinds you can add here: {', '.join(mine.offered)} — "
                     "`/incident me contact add <kind> <address>`, then `me contact verify <code>`; "
                     "`me contact test [kind]`, `me contact remove <kind>`.")
    else:
        lines.append("No provider beyond Slack is set up on this workspace (NOTIFY_SMS_URL, NOTIFY_PUSH_URL, "
                     "NOTIFY_EMAIL_URL).")
    return "\n".join(lines)


def contacts_home_blocks(mine: PersonsContacts) -> list[dict]:
    """For the App Home: each method with Test (when verified) and Remove, and the rules pages follow."""
    if not mine.offered and not mine.methods:
        return []
    blocks: list[dict] = [{"type": "divider"}, {"type": "section", "text": mrkdwn("*How pages reach you*")}]
    for method in mine.methods:
        buttons = [{"type": "button", "action_id": ActionId.CONTACT_REMOVE, "text": plain("Remove"),
                    "value": method.kind}]
        if method.verified_at:
            buttons.insert(0, {"type": "button", "action_id": ActionId.CONTACT_TEST, "text": plain("Test"),
                               "value": method.kind})
        blocks += [{"type": "section", "text": mrkdwn(_method_line(method))},
                   {"type": "actions", "elements": buttons}]
    blocks.append({"type": "context", "elements": [mrkdwn(
        f"Rules: {rules_text(mine.rules)}. Change them with `/incident me rules slack 0, sms 2m, email 10m`"
        + (f"; add a method with `/incident me contact add <{'|'.join(mine.offered)}> <address>`."
           if mine.offered else "."))]})
    return blocks
