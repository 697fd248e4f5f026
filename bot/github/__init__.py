"""The one GitHub seam: the client (auth, retries, rate limits), publishing, and reading what GitHub holds."""
