"""Small helpers shared by every part of core: errors, atomic file I/O, paths, progress, batching,
and the one policy for missing person ids."""
