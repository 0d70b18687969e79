"""Clicks: the redirect's work, the Redis buffer behind it, and the format in between.

- recording.py: what a click redirect does (tracking/public_views.py:click): find the
  link (with a short per-process memory), read the visitor, tell bots apart, record the
  click with its destination.
- buffer.py: how a click is written: one Redis round trip (the stream, a copy under its
  transaction id, the unique-click window) or a direct insert when Redis is off or down;
  the drain that bulk-inserts the stream (a beat task), the dead-letter list of entries
  the database refused, and the lookup of a still-buffered click for a postback.
- payload.py: a buffered click's JSON, its fields defined once for Python, the buffer's
  Lua script and the drain's SQL.

Import from the module that holds a name (``from tracking.clicks.buffer import ...``).
"""
