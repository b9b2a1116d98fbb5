"""Media and result files: intake (probe, hash, rename), paths inside the data dir, SSRF-safe
downloads, providers, result files rendered in formats. Knows nothing of HTTP or of jobs."""
