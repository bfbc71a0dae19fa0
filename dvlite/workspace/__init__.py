"""The workspace layer: the repository holder, tracked outputs and targets, folder scans
and hashing, compare and snapshot, `.gitignore`, storing a path, and checkout's plan."""
