"""CI Orchestrator: a GitHub App that compares, reviews and tests CI from inside pull requests."""

__version__ = "0.1.0"
