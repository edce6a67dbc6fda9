"""The dashboard: its pages, its security, its posters."""
