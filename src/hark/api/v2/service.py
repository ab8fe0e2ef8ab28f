"""v2's methods over the core and the resource store, shared by REST and gRPC.

Each method takes v2's request message and answers v2's response message; the transports
only parse, authorize and write. Names are validated first, with Google's messages; a
resource is only ever looked up under the project and location the request names.
"""

from __future__ import annotations

from typing import Any

from google.longrunning import operations_pb2
from google.protobuf.message import Message

from hark.api.convert import audio_from_proto, check_request_size
from hark.api.v2 import config as config_mask
from hark.api.v2.batch import Batches
from hark.api.v2.convert import (
    config_from_proto,
    core_model,
    message,
    phrases_of,
    recognize_response,
)
from hark.api.v2.operations import V2Operations
from hark.api.v2.recognizers import render
from hark.api.v2.resource_methods import Kind, ResourceMethods
from hark.errors import InvalidArgument, Unimplemented
from hark.jobs.service import LongRunningRecognizer
from hark.resources.lifecycle import Resources
from hark.resources.names import ResourceName, parse_name, parse_parent
from hark.settings import Limits
from hark.speech.recognizer import Recognizer
from hark.speech.types import AudioSource, RecognitionConfig
from hark.storage import AudioStorage

RECOGNIZERS = "recognizers"
MAX_CLASS_ITEMS = 500
MAX_ITEM_CHARACTERS = 500


def check_recognizer(recognizer: Any, name: ResourceName) -> None:
    """A stored default must name a model Hark maps (when it names one)."""
    defaults = _defaults_of(recognizer)
    if defaults.model:
        core_model(defaults.model, name.location)


def check_phrase_set(phrase_set: Any, name: ResourceName) -> None:
    """Boosts within v2's 0..20, every phrase with a value."""
    phrases_of(phrase_set)
    if any(not phrase.value.strip() for phrase in phrase_set.phrases):
        raise InvalidArgument("Every phrase of a PhraseSet needs a 'value'.")


def check_custom_class(custom_class: Any, name: ResourceName) -> None:
    """Google's quotas: at most 500 items of at most 500 characters."""
    items = custom_class.items
    if len(items) > MAX_CLASS_ITEMS or any(len(item.value) > MAX_ITEM_CHARACTERS for item in items):
        raise InvalidArgument(
            f"A CustomClass holds at most {MAX_CLASS_ITEMS} items of at most"
            f" {MAX_ITEM_CHARACTERS} characters."
        )


RECOGNIZER = Kind("recognizers", "Recognizer", "recognizer", "recognizers", check_recognizer)
PHRASE_SET = Kind("phraseSets", "PhraseSet", "phrase_set", "phrase_sets", check_phrase_set)
CUSTOM_CLASS = Kind(
    "customClasses", "CustomClass", "custom_class", "custom_classes", check_custom_class
)


class SpeechV2:
    """``google.cloud.speech.v2.Speech``: recognition and the Recognizer resources."""

    def __init__(
        self,
        recognizer: Recognizer,
        resources: Resources,
        limits: Limits,
        *,
        long_running: LongRunningRecognizer | None = None,
        storage: AudioStorage | None = None,
    ) -> None:
        """BatchRecognize needs ``long_running`` and ``storage``; without them it is refused."""
        self.recognizer = recognizer
        self.resources = resources
        self.limits = limits
        self.batches = (
            Batches(self.core_config, resources, long_running, storage)
            if long_running is not None and storage is not None
            else None
        )
        self.operations = V2Operations(resources, self.batches)
        self.recognizers = ResourceMethods(RECOGNIZER, resources, self.operations)
        self.phrase_sets = ResourceMethods(PHRASE_SET, resources, self.operations)
        self.custom_classes = ResourceMethods(CUSTOM_CLASS, resources, self.operations)

    async def effective_config(self, name: ResourceName, config: Any, mask: Any) -> Any:
        """The request's config over the named recognizer's defaults (none for ``_``)."""
        default = None
        if not name.implicit:
            stored: Any = render(await self.resources.active(name))
            default = _defaults_of(stored)
        return config_mask.merged(default, config, mask)

    async def core_config(self, recognizer: str, config: Any, mask: Any) -> RecognitionConfig:
        """The core's config for a request's ``recognizer``, ``config`` and ``config_mask``."""
        name = parse_name(recognizer, RECOGNIZERS, field="recognizer")
        merged = await self.effective_config(name, config, mask)
        return config_from_proto(merged, name.location)

    async def recognize(self, request: Any) -> Message:
        check_request_size(request, self.limits)
        mask = request.config_mask if request.HasField("config_mask") else None
        core_config = await self.core_config(request.recognizer, request.config, mask)
        recognition = await self.recognizer.recognize(core_config, _audio(request))
        return recognize_response(recognition, core_config)

    async def close(self) -> None:
        """Stop watching batches (an unfinished one is finished at its next poll)."""
        if self.batches is not None:
            await self.batches.close()

    async def batch_recognize(self, request: Any) -> operations_pb2.Operation:
        if self.batches is None:
            raise Unimplemented("BatchRecognize is not served here.")
        check_request_size(request, self.limits)
        return await self.batches.submit(request)

    async def get_config(self, request: Any) -> Message:
        """``projects/*/locations/*/config``: Hark keeps no KMS key, so it is always empty."""
        config: Any = message("Config")()
        config.name = _config_name(request.name)
        return config

    async def update_config(self, request: Any) -> Message:
        name = _config_name(request.config.name, "config.name")
        if request.config.kms_key_name:
            raise InvalidArgument(
                "Hark does not encrypt with Cloud KMS keys: 'kms_key_name' cannot be set."
            )
        config: Any = message("Config")()
        config.name = name
        config.update_time.GetCurrentTime()
        return config


def _defaults_of(recognizer: Any) -> Any:
    """A recognizer's ``default_recognition_config``, with its deprecated top-level
    ``model``/``language_codes`` filled in where the config leaves them empty."""
    defaults: Any = message("RecognitionConfig")()
    defaults.CopyFrom(recognizer.default_recognition_config)
    if not defaults.model and recognizer.model:
        defaults.model = recognizer.model
    if not defaults.language_codes and recognizer.language_codes:
        defaults.language_codes.extend(recognizer.language_codes)
    return defaults


def _config_name(text: str, field: str = "name") -> str:
    parent, _, last = text.rpartition("/")
    if last != "config":
        raise InvalidArgument(
            f"Invalid resource name '{text}' in '{field}':"
            " expected projects/{project}/locations/{location}/config."
        )
    return f"{parse_parent(parent, field)}/config"


def _audio(request: Any) -> AudioSource:
    """v2 puts ``content``/``uri`` on the request itself, in the same oneof shape as v1."""
    return audio_from_proto(request)
