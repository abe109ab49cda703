"""The one error a person can cause: what they asked for breaks a rule. Nothing was changed."""


class UserError(Exception):
    """Shown to the person as one line; the message says why and, where it helps, what to do instead."""
