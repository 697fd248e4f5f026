"""The App's per-repository configuration (`.github/ci-orchestrator.yml`): schema, validation and merging."""
