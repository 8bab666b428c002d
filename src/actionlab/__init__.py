"""actionlab: video action recognition from a folder of clips to a compared, reported set of methods."""

__version__ = "0.1.0"
