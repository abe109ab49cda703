"""`/incident api token create|list|revoke`: the tokens of `/api/v1`. Only ADMINS hold them (with ADMINS empty,
nobody: a token may read private incidents and change configuration); a token is shown once and kept only as its
SHA-256, and the HTTP edge asks `actor_of` who a presented token is."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy.exc import IntegrityError

from bot.clock import Clock
from bot.config import Settings
from bot.db import repo
from bot.domain.api import TOKEN_PREFIX, ApiActor, Scope, token_name
from bot.domain.errors import UserError
from bot.slack.text import echo

USAGE = ("Use `/incident api token create <name> <read|write|admin>`, `api token list` or "
         "`api token revoke <name>`.")
_USE_NOTED_EVERY = timedelta(minutes=1)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class ApiTokens:
    def __init__(self, settings: Settings, db: repo.database.Database, clock: Clock) -> None:
        self.settings, self.db, self.clock = settings, db, clock

    def act(self, actor: str, text: str) -> str:
        """The command's words after `api`."""
        words = text.split()
        if not words or words[0].lower() != "token":
            raise UserError(USAGE)
        if not self.settings.admins or actor not in self.settings.admins:
            raise UserError("Only ADMINS manage API tokens (a token may read private incidents and change the "
                            "configuration)." + ("" if self.settings.admins else " Set ADMINS first."))
        verb, rest = (words[1].lower() if len(words) > 1 else ""), words[2:]
        if verb == "create" and len(rest) == 2:
            return self.create(actor, rest[0], rest[1])
        if verb == "list" and not rest:
            return self.listing()
        if verb == "revoke" and len(rest) == 1:
            return self.revoke(rest[0])
        raise UserError(USAGE)

    def create(self, actor: str, name: str, scope: str) -> str:
        name = token_name(name)
        if scope.lower() not in Scope._value2member_map_:
            raise UserError(f"`{echo(scope)}` is not a scope: say `read`, `write` or `admin`.")
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.db.session() as session:  # the name's unique index says whether it is taken (no read first)
            repo.api_tokens.add_token(session=session, name=name, scope=scope.lower(), key_hash=token_hash(token),
                                      user_id=actor, now=self.clock.now())
            try:
                session.commit()
            except IntegrityError:
                raise UserError(f"There is a token called `{name}` already; revoke it first or pick another "
                                "name.") from None
        return (f"API token `{name}` ({scope.lower()}): `{token}`\nThis is the only time it is shown: keep it "
                "in your secret store. Send it as `Authorization: Bearer <token>`.")

    def listing(self) -> str:
        with self.db.reading() as session:
            rows = repo.api_tokens.tokens(session=session)
        if not rows:
            return "No API tokens. " + USAGE
        tz = self.settings.team_timezone
        lines = [f"• `{row.name}` {row.scope}, made by <@{row.created_by}> on "
                 f"{row.created_at.astimezone(tz):%Y-%m-%d}, "
                 + (f"last used {row.last_used_at.astimezone(tz):%Y-%m-%d %H:%M}" if row.last_used_at else "never used")
                 for row in rows]
        return "*API tokens*\n" + "\n".join(lines)

    def revoke(self, name: str) -> str:
        name = token_name(name)
        with self.db.session() as session:
            gone = repo.api_tokens.remove_token(session=session, name=name)
            session.commit()
        if not gone:
            raise UserError(f"There is no token called `{name}`.")
        return f"Revoked `{name}`: it stops working now."

    def actor_of(self, token: str) -> ApiActor | None:
        """Who a presented token is, or None (unknown or revoked); its use is noted at most once a minute."""
        if not token.startswith(TOKEN_PREFIX) or len(token) > 200 or not token.isascii():
            return None
        with self.db.session() as session:
            row = repo.api_tokens.token_by_hash(session=session, key_hash=token_hash(token))
            if row is None:
                return None
            now = self.clock.now()
            if row.last_used_at is None or row.last_used_at < now - _USE_NOTED_EVERY:
                repo.api_tokens.note_use(session=session, token_id=row.id, now=now,
                                         unless_after=now - _USE_NOTED_EVERY)
                session.commit()
            return ApiActor(row.name, Scope(row.scope), row.created_by, row.key_hash[:12],
                            trusted=row.created_by in self.settings.admins)
