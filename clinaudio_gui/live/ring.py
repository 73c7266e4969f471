"""A preallocated single-producer ring buffer with independent readers (friture's audio path).

The PortAudio callback is the only producer: :meth:`RingBuffer.write` copies one block into
the preallocated array and then publishes the new total frame count (a single int store,
atomic under the GIL). It never allocates, never waits and never blocks on a reader.

Each consumer (classifier worker, GUI display, level meter) owns a :class:`RingReader` with
its own read index, so a slow reader never slows the others or the producer. A reader that
falls more than the capacity behind has lost audio: it counts an overrun, skips to the oldest
frame still intact and carries on. A copy torn by the producer lapping the reader is detected
(the total is checked again after the copy) and the torn part is dropped, never returned.
"""
from __future__ import annotations

import numpy as np


class RingBuffer:
    """Fixed-capacity ring of float32 frames; frames are addressed by their absolute index."""

    def __init__(self, capacity_frames: int, *, dtype=np.float32):
        capacity_frames = int(capacity_frames)
        if capacity_frames <= 0:
            raise ValueError(f"capacity_frames={capacity_frames} must be a positive integer")
        self.capacity = capacity_frames
        self._buf = np.zeros(capacity_frames, dtype=dtype)
        self._total = 0  # frames ever written; published only after the data is in place

    @property
    def total(self) -> int:
        """Absolute index one past the newest frame written."""
        return self._total

    def write(self, block: np.ndarray) -> None:
        """Producer only (the audio callback): copy ``block`` in, then publish."""
        n = len(block)
        if n == 0:
            return
        cap = self.capacity
        total = self._total
        if n >= cap:  # larger than the whole ring: only the newest frames survive
            total += n - cap
            block = block[n - cap:]
            n = cap
        start = total % cap
        first = min(n, cap - start)
        self._buf[start:start + first] = block[:first]
        if first < n:
            self._buf[:n - first] = block[first:]
        self._total = total + n

    def reader(self, *, from_start: bool = False) -> "RingReader":
        """A new consumer; by default it sees only frames written from now on."""
        return RingReader(self, start_index=(max(0, self._total - self.capacity) if from_start
                                             else self._total))

    def _copy(self, start: int, stop: int) -> np.ndarray:
        cap = self.capacity
        n = stop - start
        out = np.empty(n, dtype=self._buf.dtype)
        a = start % cap
        first = min(n, cap - a)
        out[:first] = self._buf[a:a + first]
        if first < n:
            out[first:] = self._buf[:n - first]
        return out


class RingReader:
    """One consumer's view of a :class:`RingBuffer`: its own index, its own overrun count."""

    def __init__(self, ring: RingBuffer, *, start_index: int = 0):
        self.ring = ring
        self.index = int(start_index)
        self.overruns = 0      # times this reader fell behind and lost audio
        self.lost_frames = 0   # frames it never saw because of that

    def available(self) -> int:
        return self.ring.total - self.index

    def _skip_lost(self, total: int) -> None:
        oldest = total - self.ring.capacity
        if self.index < oldest:
            self.overruns += 1
            self.lost_frames += oldest - self.index
            self.index = oldest

    def read(self, *, multiple_of: int = 1, max_frames: int | None = None) -> tuple[int, np.ndarray]:
        """(absolute index of the first frame, new frames). Returns only whole groups of
        ``multiple_of`` frames (e.g. whole hops); the remainder stays for the next call."""
        total = self.ring.total
        self._skip_lost(total)
        n = total - self.index
        if max_frames is not None:
            n = min(n, int(max_frames))
        if multiple_of > 1:
            n -= n % multiple_of
        if n <= 0:
            return self.index, np.empty(0, dtype=self.ring._buf.dtype)
        start = self.index
        data = self.ring._copy(start, start + n)
        # the producer may have lapped us during the copy: drop what it overwrote
        after = self.ring.total
        torn = (after - self.ring.capacity) - start
        if torn > 0:
            self.overruns += 1
            self.lost_frames += min(torn, n)
            if torn >= n:
                self.index = after - self.ring.capacity
                return self.index, np.empty(0, dtype=self.ring._buf.dtype)
            if multiple_of > 1:
                torn += (-(n - torn)) % multiple_of  # keep whole groups only
                torn = min(torn, n)
            data = data[torn:]
            start += torn
        self.index = start + len(data)
        return start, data

    def latest(self, n_frames: int) -> np.ndarray:
        """The newest ``n_frames`` (or fewer) without moving the index: for a level meter."""
        total = self.ring.total
        n = min(int(n_frames), total, self.ring.capacity)
        return self.ring._copy(total - n, total) if n > 0 else np.empty(0, dtype=self.ring._buf.dtype)
