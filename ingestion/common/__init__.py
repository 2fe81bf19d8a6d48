"""What the connectors share: the error family, the retrying HTTP session, Arrow types and
page reading, incremental cursors and delete hints, and cursor paging.

Only what two or more sources do the same way lives here; each source keeps its own
messages, settings and vendor quirks. No source imports another source: this package is
where a piece goes once a second source needs it.
"""
