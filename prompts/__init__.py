"""Prompts of the LLM extractor, kept as text apart from the code that sends them.

One markdown file per prompt and version (`section_v1.md`); its `## name` headings split it
into the parts the code fills in. The cache key of an answer includes a hash of the file, so
editing a prompt re-asks instead of reusing answers to the old wording.
"""
