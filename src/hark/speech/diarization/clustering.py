"""Grouping speaker embeddings into speakers: how many, and who is who.

Average-linkage agglomerative clustering on cosine distance (scipy) gives a tree; the speaker
count is where the tree's merges jump past ``MERGE_DISTANCE`` (GE2E windows of one voice sit
about 0.2 apart, of two voices 0.45 or more), kept inside the caller's bounds. Clusters too
small to be a voice (a few windows straddling a turn, a cough) are folded into their nearest
neighbour when the bounds allow, and a few rounds of nearest-centroid reassignment (k-means on
the sphere) then tidy the edges that the greedy tree got wrong.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy.cluster.hierarchy import fcluster, linkage

from hark.speech.diarization.bounds import SpeakerBounds
from hark.speech.diarization.encoder import Embeddings

Labels = npt.NDArray[np.int64]

MERGE_DISTANCE = 0.35
"""Clusters whose average cosine distance exceeds this are different voices."""
SMALL_SHARE = 0.04
"""A cluster holding less than this share of the windows is not taken for a voice."""
MAX_TREE = 4000
"""Most rows the tree is grown on (its distances take 8 bytes per pair: 64 MB here)."""
_REFINE_ROUNDS = 5


def cluster(embeddings: Embeddings, bounds: SpeakerBounds) -> Labels:
    """A label 0..k-1 for each embedding row, k within ``bounds`` where the rows allow."""
    n = embeddings.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    if n == 1:
        return np.zeros(1, dtype=np.int64)
    # The tree needs all pairwise distances: past MAX_TREE rows (an hour and a half of
    # speech) it is grown on evenly spaced rows, and the rest join their nearest centroid.
    sample = np.linspace(0, n - 1, min(n, MAX_TREE)).astype(np.int64)
    tree = linkage(embeddings[sample].astype(np.float64), method="average", metric="cosine")
    # Merge distances ascend; each one above the threshold keeps one more cluster apart.
    estimate = 1 + int(np.sum(tree[:, 2] > MERGE_DISTANCE))
    count = min(max(estimate, bounds.min_count), bounds.max_count, len(sample))
    labels = fcluster(tree, count, criterion="maxclust").astype(np.int64) - 1
    labels = _fold_small(embeddings[sample], labels, bounds.min_count)
    if len(sample) < n:
        centroids = _centroids(embeddings[sample], labels)
        labels = np.argmax(embeddings @ centroids.T, axis=1)
    return _refine(embeddings, labels)


def _centroids(embeddings: Embeddings, labels: Labels) -> npt.NDArray[np.float32]:
    count = int(labels.max()) + 1
    sums = np.zeros((count, embeddings.shape[1]), dtype=np.float32)
    np.add.at(sums, labels, embeddings)
    norms = np.maximum(np.linalg.norm(sums, axis=1, keepdims=True), 1e-9)
    return np.asarray(sums / norms, dtype=np.float32)


def _fold_small(embeddings: Embeddings, labels: Labels, keep_at_least: int) -> Labels:
    """Clusters under ``SMALL_SHARE`` of the windows join their closest cluster, smallest first,
    while more than ``keep_at_least`` remain."""
    while True:
        sizes = np.bincount(labels)
        live = np.flatnonzero(sizes)
        smallest = live[np.argmin(sizes[live])]
        if len(live) <= keep_at_least or sizes[smallest] >= SMALL_SHARE * len(labels):
            return _renumber(labels)
        centroids = _centroids(embeddings, labels)
        similarity = centroids[live] @ centroids[smallest]
        similarity[live == smallest] = -np.inf
        labels = np.where(labels == smallest, live[np.argmax(similarity)], labels)


def _refine(embeddings: Embeddings, labels: Labels) -> Labels:
    """Nearest-centroid reassignment until stable; a cluster is never emptied."""
    for _ in range(_REFINE_ROUNDS):
        centroids = _centroids(embeddings, labels)
        moved = np.argmax(embeddings @ centroids.T, axis=1)
        if np.array_equal(moved, labels) or len(np.unique(moved)) < len(np.unique(labels)):
            break
        labels = moved
    return _renumber(labels)


def _renumber(labels: Labels) -> Labels:
    """Labels 0..k-1 in order of first appearance (speaker 1 speaks first)."""
    _, first = np.unique(labels, return_index=True)
    order = np.unique(labels)[np.argsort(first)]
    mapping = np.empty(int(labels.max()) + 1, dtype=np.int64)
    mapping[order] = np.arange(len(order))
    return mapping[labels]
