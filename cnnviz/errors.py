"""Project exceptions: messages say what was wrong and what is accepted, so pages can show them."""


class CnnvizError(Exception):
    """Base class of every error cnnviz raises on purpose."""


class InvalidInput(CnnvizError, ValueError):
    """A file, kernel, architecture or setting that cnnviz cannot accept.

    The message names what was wrong and what is accepted; it is safe to show to a user.
    """
