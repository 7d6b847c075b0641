"""Test support shared by every suite: fixture images and bundles built locally
(busybox-static from apt; no registry, no internet)."""
