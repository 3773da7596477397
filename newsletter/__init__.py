"""newsletter: the day's new research papers, ranked for each subscriber, as an email digest."""

__version__ = "0.1.0"
