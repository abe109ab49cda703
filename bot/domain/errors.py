"""The one error a person can cause: what they asked for breaks a rule. Nothing was changed."""


class UserError(Exception):
    """Shown to the person as one line; the message says why and, where it helps, what to do instead."""


class Invalid(UserError):
    """What was asked for is wrong as given (an empty text, a time already past), whatever state things are in:
    the API answers it 422, and a refusal by the state (an illegal transition) 409."""


class AlreadyDone(UserError):
    """The very same request (Slack's retry, a second replica, a double click) was applied before: nothing more."""

    def __init__(self, what: str = "this request") -> None:
        super().__init__(f"Already done: {what} reached me twice and was applied once.")
