"""Developer tools: a local Synapse, the demo organisation and the demo launcher.

Nothing here ships with the app; the test suite and ``./dev demo`` use it.
"""
