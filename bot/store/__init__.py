"""The history store: runs, jobs and steps of every repository, what the App posted, and the delivery journal."""
