"""`sro`, the program coordinator's command line: schools, officers, statistics, keys, audit."""
