"""Errors a reader raises for input it cannot read; each becomes an error record, never a crash."""


class ReadError(Exception):
    """A document that cannot be read. `code` is stable and machine-readable."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code  # empty | too_large | corrupt | encrypted | unsupported | missing_tool


class NotAReport(Exception):
    """A readable document that is not a 政府信息公开工作年度报告."""
