"""One module per page: each builds its layout; the callbacks live in ``dashboard.callbacks``."""
