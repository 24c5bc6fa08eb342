class StackError(Exception):
    """An upload that cannot become a stack, with the message the editor reads.

    Messages never quote a file's name or header values: both can carry patient details, and
    the message is kept with the stack.
    """


class NeedsConfirmation(StackError):
    """An upload that can be processed once the editor confirms something (it is kept)."""
