"""Test helper: the three cores (recognise, stream, long-running) over any engine, and the
REST app over them: the server's composition in process, with no model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette

from hark.api import operations
from hark.api.adaptation import AdaptationV1
from hark.api.convert import V1, V1P1BETA1
from hark.api.openai import OpenAIApi
from hark.api.rest import RestApi
from hark.api.rest_adaptation import AdaptationRoutes
from hark.api.rest_operations import OperationRoutes
from hark.api.v2.adaptation import StoredAdaptation
from hark.api.v2.rest import RestV2
from hark.api.v2.service import SpeechV2
from hark.api.websocket import StreamingSocket
from hark.auth import ApiKeys
from hark.engine import Engine
from hark.engine.pool import EnginePool
from hark.jobs.local import LocalJobQueue
from hark.jobs.service import LongRunningRecognizer
from hark.jobs.sqlite import SqliteJobStore
from hark.resources.lifecycle import Resources
from hark.resources.sqlite import SqliteResourceStore
from hark.settings import Limits, StorageSettings
from hark.speech.diarization import Diarizer
from hark.speech.recognizer import Recognizer
from hark.speech.streaming.session import StreamingRecognizer
from hark.storage import AudioStorage


class Unclosable:
    """Lends an engine to one pool after another without letting a pool close it (a test
    module's or a benchmark's one loaded model)."""

    def __init__(self, engine: Engine) -> None:
        self.info = engine.info
        self.transcribe = engine.transcribe
        self.transcribe_batch = engine.transcribe_batch
        self.n_best = engine.n_best
        self.start = engine.start
        self.step = engine.step

    def close(self) -> None:
        pass


@dataclass
class Cores:
    """What ``app.build_services`` builds, over the given engine; ``close`` releases it."""

    pool: EnginePool
    recognizer: Recognizer
    streaming: StreamingRecognizer
    long_running: LongRunningRecognizer
    jobs: LocalJobQueue
    store: SqliteJobStore
    resources: Resources
    speech_v2: SpeechV2

    async def close(self) -> None:
        await self.speech_v2.close()
        await self.jobs.close()
        await self.store.close()
        await self.resources.store.close()
        await self.pool.close()


async def build_cores(
    engine: Engine,
    data_dir: Path,
    *,
    max_queue: int = 8,
    limits: Limits | None = None,
    diarizer: Diarizer | None = None,
) -> Cores:
    limits = limits or Limits()
    pool = EnginePool(engine, workers=1, max_queue=max_queue)
    storage = AudioStorage(StorageSettings(), data_dir)
    resources = Resources(SqliteResourceStore(data_dir / "resources.sqlite3"))
    recognizer = Recognizer(
        pool,
        engine.info,
        limits,
        fetch=storage.read,
        resolve_adaptation=StoredAdaptation(resources),
        diarizer=diarizer,
    )
    store = SqliteJobStore(data_dir / "jobs.sqlite3")
    jobs = LocalJobQueue(store, workers=1, max_queue=8, retention_seconds=3600.0)
    long_running = LongRunningRecognizer(
        recognizer,
        store=store,
        queue=jobs,
        storage=storage,
        limits=limits,
        render_output=operations.output_json,
    )
    await jobs.start(long_running.run)
    streaming = StreamingRecognizer(recognizer, slots=1)
    speech_v2 = SpeechV2(recognizer, resources, limits, long_running=long_running, storage=storage)
    return Cores(pool, recognizer, streaming, long_running, jobs, store, resources, speech_v2)


def rest_app(cores: Cores, keys: ApiKeys | None = None, limits: Limits | None = None) -> Starlette:
    """The REST, WebSocket and OpenAI app ``hark serve`` runs, over ``cores``."""
    keys = keys or ApiKeys(())
    limits = limits or Limits()
    rest = RestApi(cores.recognizer, keys, limits)
    socket = StreamingSocket(cores.streaming, keys)
    openai_api = OpenAIApi(cores.recognizer, keys, limits)
    return rest.app(
        [
            *RestV2(rest, cores.speech_v2).routes(),
            *AdaptationRoutes(
                rest, [AdaptationV1(version, cores.resources) for version in (V1, V1P1BETA1)]
            ).routes(),
            *OperationRoutes(rest, cores.long_running).routes(),
            *socket.routes(),
            *openai_api.routes(),
        ]
    )
