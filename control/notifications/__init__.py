"""Notifications: channels (Telegram, email, webhook), routing rules and delivery history.

An event worth telling someone about (an app gone fatal, a failed runtime, a pipeline's
error rate over the threshold, a failed command) is routed to the enabled channels that
subscribe to it at or above their minimum severity, deduplicated per channel within its
window. Each routed event becomes a ``NotificationDelivery`` row (status ``queued``),
committed before a Dramatiq actor (``workers/notifications.py``) is asked to send it, so
a broker outage delays a notification but never loses it.
"""
