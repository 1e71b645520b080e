"""remote.py - placeholder until the HTTP client lands."""


class Remote:
    pass
