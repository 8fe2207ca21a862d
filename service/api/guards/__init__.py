"""What every request passes before its route: the Host allow-list, CORS and cross-origin writes, the
token and its owner's scopes, the rate limit and the owner's quota; and redirects built on BASE_URL."""
