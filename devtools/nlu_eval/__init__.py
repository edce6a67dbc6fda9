"""The NLU evaluation (`make nlu-eval`): folds and scores here, training and prediction in Rasa's venv."""
