"""The sports data API (issue 11): ``/api/v1`` over HTTP for API-key holders.

Live state comes from the poller's read cache, history from the match store (SQL) the poller
records into. The auth service, the cache and the store are reached through Protocol seams;
``pusherd.embedded`` composes them on pusherd's port.
"""
