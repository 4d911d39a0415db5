"""Performance: the timed function calls the apps report, and the figures about them."""
