"""The process screen's one-line prompt (filter, go to an address, go to a time).

A terminal sends what is typed quickly, Enter and the next key together (tmux
send-keys, a paste, a fast typist): Input takes Enter as a binding, which runs after the
keys already queued, so the next key went into the prompt ("not a time: '10:15:30a'")
and did nothing of its own (review). Here Enter submits at once, and keys that come
after it, before the screen has closed the prompt, go back to the app as the keys they
are (a, b, space, ...).
"""

from __future__ import annotations

from textual import events
from textual.widgets import Input


class PromptInput(Input):
    """An Input that submits on Enter as soon as it comes, and hands on what follows."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.submitted = False  # Enter came: what follows is not the prompt's

    def reopen(self) -> None:
        """The prompt opens again: keys are its own."""
        self.submitted = False

    async def _on_key(self, event: events.Key) -> None:
        if self.submitted:
            event.stop()
            event.prevent_default()
            self.app.post_message(events.Key(event.key, event.character))
            return
        if event.key == "enter":
            event.stop()
            event.prevent_default()
            self.submitted = True
            self.post_message(self.Submitted(self, self.value))
            return
        await super()._on_key(event)
