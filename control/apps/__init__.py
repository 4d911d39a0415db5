"""Apps: the fleet's data-collection applications and their live state."""
