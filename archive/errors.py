"""The few named errors of the archive package. The CLI turns them into messages."""


class ArchiveError(Exception):
    """Base class: anything the archive package raises on purpose."""


class ExtractionError(ArchiveError):
    """A body that cannot be read as an HTML page at all.

    `reason` is a short stable code ("empty", "binary", "unparseable") used in stats keys.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason

    def __reduce__(self):
        # It crosses from extraction worker processes by pickle, which replays __init__.
        return (type(self), (self.reason, str(self)))


class StoreError(ArchiveError):
    """The SQLite store cannot be opened or written as asked."""
