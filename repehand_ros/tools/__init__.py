"""Command-line entry points (`repehand ...`): thin wrappers over the library."""
