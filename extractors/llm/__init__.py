"""The LLM extractor: sections the template extractor could not settle, asked of any
OpenAI-compatible endpoint through instructor, with the standard model's section classes as
the answer's schema. The answer is one more reading, weighed against the table's and
checked by the rules; it is never taken as the truth.

asks → which sections, rendered how; prompt → prompts/; schemas → the answer's models and the
second look; client → the endpoint, cache, limits and counts; grounding, merge → weighing
the answer in. Import `extractors.llm.client` only where an endpoint is used: instructor and
openai take a second to import, which a run without an LLM does not pay.
"""
