"""Application logs: filtered, full-text searched pages and streamed exports."""
