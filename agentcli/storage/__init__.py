"""Local state on disk: the one SQLite setup both stores use, private files and folders, one error class."""
