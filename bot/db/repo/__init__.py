"""Every query the app makes, a module per aggregate: keyword-only functions that take a session (only this
package imports `select`). `database` holds the machinery: sessions, the database threads, the group
commit, retries after a deadlock. Callers reach a query through its module (`repo.pages.page_by_id(...)`),
so that a test replacing it there replaces it for everyone."""

from bot.db.repo import (
    api_tokens,
    config_io,
    contacts,
    covers,
    database,
    deliveries,
    follow_ups,
    heartbeats,
    imports,
    incidents,
    maintenance,
    messages,
    metrics,
    pages,
    people,
    reminders,
    requests,
    rotations,
    routes,
    schedules,
    status,
    storms,
    timeline,
    trackers,
    types,
    usergroups,
    web,
)

__all__ = ["api_tokens", "config_io", "contacts", "covers", "database", "deliveries", "follow_ups", "heartbeats",
           "imports", "incidents", "maintenance", "messages", "metrics", "pages", "people", "reminders", "requests",
           "rotations", "routes", "schedules", "status", "storms", "timeline", "trackers", "types", "usergroups", "web"]
