"""`unleak app`: the whole job in a browser, for a person who has never used a terminal and for a
helpline's caseworkers. A thin door: every page calls the same library functions as the CLI."""

from unleak.app.server import AppConfig, check_exposure, create_app

__all__ = ["AppConfig", "check_exposure", "create_app"]
