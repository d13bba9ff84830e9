"""What stopped a visitor's vmtop before its screen, said in the visitor's browser.

Under ``vmtop serve`` each visitor's vmtop is a command textual-serve runs; one that
ends before its app starts (the process it was served for has exited since, the
recording was moved) wrote its one line to the server's terminal, and the page stayed on
its loading card with nothing said (review). Here that line is the screen, with what to
do: reload the page (the server refuses at once what it can tell when it starts).
"""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.widgets import Footer, Static

AFTER = "Reload the page to start again · q ends this session"


class ServedError(App):
    CSS_PATH = Path(__file__).with_name("served_error.tcss")
    BINDINGS = [("q", "quit", "End the session")]
    TITLE = "vmtop"

    def __init__(self, said: str) -> None:
        super().__init__()
        self.said = said.strip() or "vmtop ended before it could show anything"

    def compose(self) -> ComposeResult:
        yield Static(self.said, id="said", markup=False)
        yield Static(AFTER, id="after")
        yield Footer()


def show_in_browser(said: str) -> None:
    """Show ``said`` (what vmtop wrote on stderr) until the visitor quits or leaves."""
    ServedError(said).run()
