"""The HTTP edge: the server, the web board and its sign-in, alert and tracker webhooks, heartbeats, metrics, and
the pages' renderers and templates."""
