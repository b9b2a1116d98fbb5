"""The audio analysis library: decoding, processors, results. Never imports the server."""
