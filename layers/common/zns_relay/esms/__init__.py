"""What the functions say to eSMS: sends (client), status questions (status), and the pooled HTTP session
they share (http)."""
