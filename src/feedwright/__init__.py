"""feedwright: local posts and remote feeds in, per-category Atom/RSS out."""

__version__ = "0.1.0"
