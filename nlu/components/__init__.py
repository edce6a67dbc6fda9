"""Custom Rasa components. Imported only inside Rasa's Python 3.10 venv."""
