"""The one error type meshctl shows a person: one line on stderr, exit code 1."""

from __future__ import annotations

__all__ = ["MeshctlError"]


class MeshctlError(Exception):
    """Invalid input or an unreachable dependency, said in one line a person can act on."""

    def __init__(self, message: str) -> None:
        # Whatever it quotes, the message stays on one line.
        super().__init__(" ".join(message.split()))

    @property
    def message(self) -> str:
        return str(self.args[0])
