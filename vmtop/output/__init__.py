"""Text renderers for the headless commands: pmap-style, JSON, CSV. No Textual here."""
