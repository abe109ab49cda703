"""`make demo` (`python -m demo`): the bot tried without Slack.

It starts the fake Slack (`python -m tests.fake_slack`) and the bot (`python -m bot`) as processes of their own, on
free loopback ports with a SQLite database in a temporary folder, plays a short incident with signed requests as
Slack would send them (`demo/story.py`), and prints what the people in the workspace saw (`demo/render.py`).
Both processes are stopped when it ends, however it ends.
"""
