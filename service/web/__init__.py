"""The pages people open in a browser, served by the API process: the dashboard (/) and the API reference
(/docs). They present the API, so they may import service.api; nothing else of the wings, no torch."""
