"""Remotes: the interfaces, the factory, the folder and fsspec backends, packing, errors,
the format file, freshen markers and the objects known to be on a remote."""
