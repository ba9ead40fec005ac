"""Uploaded files and photos: content checks, thumbnails, a storage interface, serving to the owning tenant only."""
