"""Shipped test support: the local GitHub (simulator) and the demo that plays the App against it."""
