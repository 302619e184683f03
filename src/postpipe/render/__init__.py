"""Rendering: Markdown to HTML, the blog site, and the email newsletter."""
