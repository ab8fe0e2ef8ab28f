"""Stored PhraseSets and CustomClasses, resolved into the inline phrases the core takes.

``adaptation.phrase_set_references`` (v1 and v2) name stored PhraseSets; a phrase may name a
stored CustomClass as ``${projects/*/locations/*/customClasses/*}``. ``StoredAdaptation`` is
the core's ``AdaptationResolver``: it reads them when a request arrives (a job keeps what
they held then) and returns the same ``Adaptation`` with the references made inline, so
``speech.adaptation`` biases decoding exactly as for inline phrase sets.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from hark.api.v2.convert import custom_class_of, message, phrases_of
from hark.errors import InvalidArgument, NotFound, invalid_config
from hark.resources.lifecycle import Resources
from hark.resources.names import parse_name
from hark.speech.types import Adaptation, CustomClass

MAX_REFERENCES = 20
"""Google's quota: PhraseSets per SpeechAdaptation."""
_STORED_CLASS = re.compile(r"\$\{(projects/[^}]*/customClasses/[^}]*)\}")


class StoredAdaptation:
    """Resolves references against the resource store (any project and location named)."""

    def __init__(self, resources: Resources) -> None:
        self.resources = resources

    async def __call__(self, adaptation: Adaptation) -> Adaptation:
        references = adaptation.phrase_set_references
        if len(references) > MAX_REFERENCES:
            raise invalid_config(
                f"at most {MAX_REFERENCES} phrase set references are allowed",
                field="adaptation.phraseSetReferences",
            )
        phrase_sets = [*adaptation.phrase_sets]
        for reference in references:
            phrase_sets.append(phrases_of(await self._stored(reference, "phraseSets")))
        classes = {cls.custom_class_id: cls for cls in adaptation.custom_classes}
        for phrase_set in phrase_sets:
            for phrase in phrase_set:
                for class_name in _STORED_CLASS.findall(phrase.value):
                    if class_name not in classes:
                        stored = custom_class_of(await self._stored(class_name, "customClasses"))
                        classes[class_name] = CustomClass(class_name, stored.items)
        return replace(
            adaptation,
            phrase_sets=tuple(phrase_sets),
            phrase_set_references=(),
            custom_classes=tuple(classes.values()),
        )

    async def _stored(self, reference: str, collection: str) -> Any:
        """The stored v2 message ``reference`` names; INVALID_ARGUMENT if there is none."""
        kind = "phrase set" if collection == "phraseSets" else "custom class"
        field = "adaptation.phraseSetReferences" if kind == "phrase set" else "adaptation"
        try:
            stored = await self.resources.active(parse_name(reference, collection))
        except (InvalidArgument, NotFound):
            raise invalid_config(f"{kind} '{reference}' was not found", field=field) from None
        resource: Any = message("PhraseSet" if kind == "phrase set" else "CustomClass")()
        resource.ParseFromString(stored.payload)
        return resource
