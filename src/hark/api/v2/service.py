"""v2's methods over the core and the resource store, shared by REST and gRPC.

Each method takes v2's request message and answers v2's response message; the transports
only parse, authorize and write. Names are validated first, with Google's messages; a
resource is only ever looked up under the project and location the request names.
"""

from __future__ import annotations

from typing import Any

from google.longrunning import operations_pb2
from google.protobuf import field_mask_pb2
from google.protobuf.message import Message

from hark.api.convert import audio_from_proto, check_request_size
from hark.api.v2 import config as config_mask
from hark.api.v2.batch import Batches
from hark.api.v2.convert import config_from_proto, core_model, message, recognize_response
from hark.api.v2.operations import V2Operations
from hark.api.v2.recognizers import operation, render, stored_payload
from hark.errors import InvalidArgument, NotFound, Unimplemented
from hark.jobs.service import LongRunningRecognizer
from hark.resources.lifecycle import Resources
from hark.resources.names import ResourceName, new_name, parse_name, parse_parent
from hark.settings import Limits
from hark.speech.recognizer import Recognizer
from hark.speech.types import AudioSource, RecognitionConfig
from hark.storage import AudioStorage

RECOGNIZERS = "recognizers"


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

    async def create_recognizer(self, request: Any) -> operations_pb2.Operation:
        name = new_name(request.parent, RECOGNIZERS, request.recognizer_id, "recognizer_id")
        await self._check_config(request.recognizer, name)
        payload = stored_payload(request.recognizer)
        if request.validate_only:
            preview: Any = message("Recognizer")()
            preview.ParseFromString(payload)
            preview.name = str(name)
            return operation("CreateRecognizer", name.parent, preview, request)
        stored = await self.resources.create(name, payload)
        return await self.operations.record(
            operation("CreateRecognizer", name.parent, render(stored), request)
        )

    async def get_recognizer(self, request: Any) -> Message:
        return render(await self.resources.get(_stored_name(request.name)))

    async def list_recognizers(self, request: Any) -> Message:
        parent = parse_parent(request.parent)
        page = await self.resources.list(
            parent, RECOGNIZERS, request.page_size, request.page_token, request.show_deleted
        )
        response: Any = message("ListRecognizersResponse")()
        for stored in page.resources:
            response.recognizers.append(render(stored))
        response.next_page_token = page.next_page_token
        return response

    async def update_recognizer(self, request: Any) -> operations_pb2.Operation:
        name = _stored_name(request.recognizer.name, "recognizer.name")
        mask = list(request.update_mask.paths) if request.HasField("update_mask") else []
        if mask:
            config_mask.check_mask(mask, request.recognizer, field="update_mask")
        await self._check_config(request.recognizer, name)

        def change(payload: bytes) -> bytes:
            current: Any = message("Recognizer")()
            current.ParseFromString(payload)
            if not mask:
                return stored_payload(request.recognizer)
            updated = config_mask.merged(current, request.recognizer, _mask(mask))
            return stored_payload(updated)

        if request.validate_only:
            current = await self.resources.active(name)
            preview: Any = message("Recognizer")()
            preview.ParseFromString(change(current.payload))
            preview.name = str(name)
            return operation("UpdateRecognizer", name.parent, preview, request)
        stored = await self.resources.update(name, change, request.recognizer.etag)
        return await self.operations.record(
            operation("UpdateRecognizer", name.parent, render(stored), request)
        )

    async def delete_recognizer(self, request: Any) -> operations_pb2.Operation:
        name = _stored_name(request.name)
        if request.allow_missing:
            try:
                await self.resources.get(name)
            except NotFound:  # nothing to delete: the empty answer AIP-135 gives
                return operation("DeleteRecognizer", name.parent, message("Recognizer")())
        if request.validate_only:
            return operation(
                "DeleteRecognizer", name.parent, render(await self.resources.active(name))
            )
        stored = await self.resources.delete(name, request.etag)
        return await self.operations.record(
            operation("DeleteRecognizer", name.parent, render(stored), request)
        )

    async def undelete_recognizer(self, request: Any) -> operations_pb2.Operation:
        name = _stored_name(request.name)
        if request.validate_only:
            return operation(
                "UndeleteRecognizer", name.parent, render(await self.resources.get(name))
            )
        stored = await self.resources.undelete(name, request.etag)
        return await self.operations.record(
            operation("UndeleteRecognizer", name.parent, render(stored), request)
        )

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

    async def _check_config(self, recognizer: Any, name: ResourceName) -> None:
        """A stored default must at least name a model and languages Hark knows, if any."""
        defaults = _defaults_of(recognizer)
        if defaults.model:
            core_model(defaults.model, name.location)


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


def _stored_name(text: str, field: str = "name") -> ResourceName:
    name = parse_name(text, RECOGNIZERS, field=field)
    if name.implicit:
        raise InvalidArgument(f"'{field}' names the implicit recognizer '_', which is not stored.")
    return name


def _config_name(text: str, field: str = "name") -> str:
    parent, _, last = text.rpartition("/")
    if last != "config":
        raise InvalidArgument(
            f"Invalid resource name '{text}' in '{field}':"
            " expected projects/{project}/locations/{location}/config."
        )
    return f"{parse_parent(parent, field)}/config"


def _mask(paths: list[str]) -> Any:
    return field_mask_pb2.FieldMask(paths=paths)


def _audio(request: Any) -> AudioSource:
    """v2 puts ``content``/``uri`` on the request itself, in the same oneof shape as v1."""
    return audio_from_proto(request)
