"""Upstream providers: HTTP calls in, raw items plus quota out (house style: Provider seam)."""
