"""postpipe: Markdown event write-ups → a blog and an inlined email newsletter."""

__version__ = "0.1.0"
