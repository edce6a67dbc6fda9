"""The local demo (`make run` without a token), driven through its terminal chat."""
