"""One flow per capability: fetch through a provider, decide with a pure core, publish one report."""
