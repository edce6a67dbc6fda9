"""Process wiring shared by every entry point: settings and logging."""
