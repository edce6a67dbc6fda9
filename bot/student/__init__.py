"""What students see: choosing a school, reporting, asking, checking a case."""
