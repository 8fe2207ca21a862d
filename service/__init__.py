"""fitq's service side: settings, persistence, the HTTP API and the command line."""
