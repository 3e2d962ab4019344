"""Reports people take away: every list as CSV or JSON, streamed row by row."""
