"""Statistics and disclosure control: anonymous counts, protected months, response times, `sro stats`."""
