"""Google's Speech-to-Text v2 (``google.cloud.speech.v2``) over the same core as v1.

``convert`` maps v2's messages to and from the core's types; ``config`` merges a stored
recognizer's defaults under a request's config; ``recognizers`` renders the stored resources
as v2 messages; ``service`` holds the methods, shared by ``rest`` and ``rpc``.
"""
