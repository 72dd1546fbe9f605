"""The binding's own version, and the library version it was written for."""

__version__ = "0.1.0"

#: The libreplkv (major, minor) this binding was written against. The
#: linked library must match both: 0.x minor releases may change the ABI.
LIBRARY_VERSION = (0, 1)
