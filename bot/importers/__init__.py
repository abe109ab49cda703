"""Reading the tools teams move from (SPEC § Moving in): a client per source's public REST API, read-only, with its
pagination and rate limits handled. What the import makes of it lives beside (issue 36, in progress)."""
