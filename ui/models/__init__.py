"""Item models over the cache: thin, holding ids and reading rows on demand."""
