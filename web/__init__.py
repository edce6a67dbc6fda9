"""The coordinator's dashboard: accounts, protected statistics, coverage; never a case or the master key."""
