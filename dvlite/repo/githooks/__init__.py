"""Git hooks (install, the hook runs) and the merge drivers of pointers and lock files."""
