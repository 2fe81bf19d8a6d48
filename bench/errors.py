"""The one error the benchmark reports as a failure, with its work dir kept."""


class BenchError(RuntimeError):
    """A measurement failed; the message says which and where to look."""
