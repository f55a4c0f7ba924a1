"""Harvesting reports from government portals into a raw store: the fetching (polite, size-
capped, never to private addresses unless allowed), what a page links to, safe unpacking of
ZIP attachments, and the store itself. The Prefect flow that drives it is flows/harvest_flow.py.
"""
