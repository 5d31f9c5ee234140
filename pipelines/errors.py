"""Errors the command line turns into one line, kept apart from ``load`` and ``settings`` (which
re-export them) so that a command which never loads or reads settings, like ``status``, starts
without importing them."""


class LoadAborted(RuntimeError):
    """The whole load or rebuild stopped and nothing was changed; the message (one line) says why."""


class SettingsError(ValueError):
    """The settings file cannot be used; the message is one line naming file, section and key."""
