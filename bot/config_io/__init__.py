"""Configuration as code (SPEC § HTTP API and configuration as code): `python -m bot config export|apply`.

model: the YAML file's shape (pydantic, unknown keys refused) · export: the database as that shape · check: the
file's meaning checked and its people resolved · plan: file against database, the changes keyed by name (pure) ·
apply: the plan written in one transaction · cli: the command line."""
