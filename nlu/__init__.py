"""Understanding student messages: Rasa training data, the client the bot calls,
the safety net and the fallback classifier.

Kept free of imports: Rasa's own venv imports `nlu.textprep`, `nlu.features`
and `nlu.components` from here.
"""
