"""CocoIndex peer of bench/compare.mjs: one `update` pass over the Markdown files of a folder.

The pipeline a CocoIndex 1.0 user would write (after its text_embedding example): walk the folder,
one memoized processing component per file, CocoIndex's RecursiveSplitter (language "markdown"),
a memoized embedding per chunk, rows into an SQLite table with a sqlite-vec `float[64]` column.
CocoIndex keeps its own state (target states and memos) in its LMDB database at --state; each
run of this script is one `app.update()`, as `cocoindex update` would be.

The embedder costs what ragsync's fixed-cost one does: hash-derived 64-d vectors (the very
function of src/embed/fixed.ts, so equal text gives equal vectors) and a sleep of --delay-ms per
batch. CocoIndex batches custom functions itself (`@coco.fn.as_async(batching=True, max_batch_size=16)`:
concurrent single-text calls are grouped), the way its SentenceTransformerEmbedder does; batches
run one at a time, like a model on one device.

Prints one JSON line: version (CocoIndex's), ms (the update), embedded (texts embedded), batches,
rowsWritten (rows inserted, updated or deleted in the target: SQLite's total_changes), rows (in
the table after).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import pathlib
import struct
import time
from dataclasses import dataclass
from typing import Annotated, Iterator

# CocoIndex reports usage over the network unless told not to; the bench runs offline.
os.environ["COCOINDEX_DISABLE_USAGE_TRACKING"] = "1"

import numpy as np
from numpy.typing import NDArray

import cocoindex as coco
from cocoindex.connectors import localfs, sqlite
from cocoindex.ops.text import RecursiveSplitter
from cocoindex.resources.chunk import Chunk
from cocoindex.resources.file import FileLike, PatternFilePathMatcher
from cocoindex.resources.id import IdGenerator
from cocoindex.resources.schema import VectorSchema

DIM = 64
BATCH = 16
TABLE = "chunks"

parser = argparse.ArgumentParser()
parser.add_argument("--corpus", type=pathlib.Path, required=True)
parser.add_argument("--state", type=pathlib.Path, required=True, help="CocoIndex's LMDB state")
parser.add_argument("--db", type=pathlib.Path, required=True, help="the SQLite target")
parser.add_argument("--delay-ms", type=float, default=10)
parser.add_argument("--chunk-bytes", type=int, default=2000)
args = parser.parse_args()


def vector_of(data: bytes, dim: int) -> NDArray[np.float32]:
    """src/embed/fixed.ts's vectorOf: sha-256 blocks read as int16, L2-normalised."""
    values: list[float] = []
    block = hashlib.sha256(data).digest()
    while len(values) < dim:
        for j in range(0, len(block) - 1, 2):
            if len(values) == dim:
                break
            values.append(struct.unpack_from("<h", block, j)[0] / 32768)
        block = hashlib.sha256(block).digest()
    v = np.array(values, dtype=np.float64)
    norm = float(np.linalg.norm(v)) or 1.0
    return (v / norm).astype(np.float32)


class FixedCostEmbedder:
    """Hash-derived vectors at a known cost: `delay_ms` per batch of up to 16, one batch at a time."""

    def __init__(self, delay_ms: float) -> None:
        self.delay_ms = delay_ms
        self.embedded = 0
        self.batches = 0
        self._device: asyncio.Lock | None = None

    @coco.fn.as_async(batching=True, max_batch_size=BATCH)
    async def _embed(self, texts: list[str]) -> list[NDArray[np.float32]]:
        self._device = self._device or asyncio.Lock()
        async with self._device:
            await asyncio.sleep(self.delay_ms / 1000)
        self.embedded += len(texts)
        self.batches += 1
        return [vector_of(t.encode(), DIM) for t in texts]

    @coco.fn(memo=True, logic_tracking="self")
    async def embed(self, text: str) -> NDArray[np.float32]:
        return await self._embed(text)

    def __coco_memo_key__(self) -> object:
        # The vectors do not depend on the delay: changing it must not invalidate the memos.
        return ("fixed-cost", DIM)


SQLITE_DB = coco.ContextKey[sqlite.ManagedConnection]("bench_db")
EMBEDDER = coco.ContextKey[FixedCostEmbedder]("bench_embedder")
embedder = FixedCostEmbedder(args.delay_ms)
connection: sqlite.ManagedConnection | None = None


@dataclass
class ChunkRow:
    id: int
    filename: str
    chunk_start: int
    text: str
    embedding: Annotated[NDArray, VectorSchema(dtype=np.dtype(np.float32), size=DIM)]


@coco.lifespan
def coco_lifespan(builder: coco.EnvironmentBuilder) -> Iterator[None]:
    global connection
    builder.settings.db_path = args.state
    with sqlite.managed_connection(args.db, load_vec=True) as conn:
        connection = conn
        builder.provide(SQLITE_DB, conn)
        builder.provide(EMBEDDER, embedder)
        yield


splitter = RecursiveSplitter()


@coco.fn
async def process_chunk(
    chunk: Chunk, filename: str, id_gen: IdGenerator, table: sqlite.TableTarget[ChunkRow]
) -> None:
    table.declare_row(
        row=ChunkRow(
            id=await id_gen.next_id(chunk.text),
            filename=filename,
            chunk_start=chunk.start.char_offset,
            text=chunk.text,
            embedding=await coco.use_context(EMBEDDER).embed(chunk.text),
        )
    )


@coco.fn(memo=True)
async def process_file(file: FileLike, table: sqlite.TableTarget[ChunkRow]) -> None:
    text = await file.read_text()
    chunks = splitter.split(text, chunk_size=args.chunk_bytes, chunk_overlap=0, language="markdown")
    await coco.map(process_chunk, chunks, str(file.file_path.path), IdGenerator(), table)


@coco.fn
async def app_main(corpus: pathlib.Path) -> None:
    table = await sqlite.mount_table_target(
        SQLITE_DB, TABLE, await sqlite.TableSchema.from_class(ChunkRow, primary_key=["id"])
    )
    files = localfs.walk_dir(
        corpus, recursive=True, path_matcher=PatternFilePathMatcher(included_patterns=["**/*.md"])
    )
    await coco.mount_each(process_file, files.items(), table)


app = coco.App(coco.AppConfig(name="RagsyncBench"), app_main, corpus=args.corpus.resolve())


def main() -> None:
    with coco.runtime():
        t0 = time.perf_counter()
        app.update_blocking()
        ms = (time.perf_counter() - t0) * 1000
        assert connection is not None
        with connection.readonly() as conn:
            written = conn.total_changes
            rows = conn.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0]
            # sqlite-vec answers over the column CocoIndex wrote (a check that the vectors are usable).
            conn.execute(
                f"SELECT id FROM {TABLE} ORDER BY vec_distance_cosine(embedding, ?) LIMIT 1",
                (vector_of(b"probe", DIM).tobytes(),),
            ).fetchall()
    print(
        json.dumps(
            {
                "version": coco.__version__,
                "ms": ms,
                "embedded": embedder.embedded,
                "batches": embedder.batches,
                "rowsWritten": written,
                "rows": rows,
            }
        )
    )


main()
