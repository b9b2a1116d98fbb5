"""Media: intake and storage of audio sources, providers, streaming, signed URLs.

Server layer: may use settings, db and jobs; the audio core never imports it.
"""
