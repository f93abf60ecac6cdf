"""The one error type of the dev stack.

Its message is shown to the user as a single line by ``devstack`` (and as the failure of a fixture
in pytest), so it says what went wrong and where to look, without a traceback.
"""


class DevstackError(Exception):
    """Starting, stopping or finding a part of the local stack failed; the message says why."""
