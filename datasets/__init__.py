"""Scans in: decoding, the physics-based dual-energy synthesiser, COCO datasets and importers."""
