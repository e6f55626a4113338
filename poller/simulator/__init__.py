"""A faithful fake API-Sports upstream (upstream reference §8): the demo's data source and the
fake upstream of the poller's tests. A real ASGI app served over loopback, driven by a scripted,
seeded timeline on an injected clock.
"""
