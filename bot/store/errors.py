"""The store's named exceptions: callers catch these, never SQLAlchemy's or a driver's."""

from __future__ import annotations


class StoreError(Exception):
    """Base class for everything the store raises on purpose."""


class StoreUnavailable(StoreError):
    """The database cannot be used right now: unreachable, locked, corrupt or gone away.

    The message names the database (file path, or host/database/user) and never a password.
    """


class UnknownChat(StoreError, LookupError):
    """An operation needs a chat that has no row in the store."""

    def __init__(self, chat_id: int) -> None:
        super().__init__(f"chat {chat_id} is not in the store (call ensure_chat first)")
        self.chat_id = chat_id


class SubscriptionLimitReached(StoreError):
    """The chat follows as many things as it may; nothing was added."""

    def __init__(self, chat_id: int, limit: int) -> None:
        super().__init__(f"chat {chat_id} already has {limit} subscriptions")
        self.chat_id = chat_id
        self.limit = limit


class Conflict(StoreError):
    """A uniqueness or reference rule of the schema refused the change; nothing was written.

    `constraint` names the rule when the database said which one: the constraint's name in
    the schema, or "foreign key" when SQLite only says that some reference failed.
    """

    def __init__(self, message: str, constraint: str | None = None) -> None:
        super().__init__(message)
        self.constraint = constraint
