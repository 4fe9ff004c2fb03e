"""kickwatch: know within seconds when the Kick.com streamers you follow go live or offline."""

__version__ = "0.1.0"
