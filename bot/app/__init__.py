"""The App runtime: webhook server, intake, dispatcher, settings, logs and metrics."""
