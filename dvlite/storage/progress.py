"""How long operations report progress without knowing who draws it."""

from __future__ import annotations

from typing import Protocol


class Progress(Protocol):
    def begin(self, description: str, files: int, nbytes: int) -> None: ...

    def advance(self, files: int = 0, nbytes: int = 0) -> None: ...

    def end(self) -> None: ...


class NullProgress:
    def begin(self, description: str, files: int, nbytes: int) -> None:
        pass

    def advance(self, files: int = 0, nbytes: int = 0) -> None:
        pass

    def end(self) -> None:
        pass


NULL_PROGRESS = NullProgress()
