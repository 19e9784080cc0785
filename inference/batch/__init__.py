"""Many voice lines in one run: a manifest, warm worker processes on every core, resumable, a failure report."""
