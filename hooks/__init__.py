"""The git hook scripts that `dvlite install` copies (see README.md here). A package only
so that the wheel ships them, as `dvlite.hooks`."""
