"""Background workers for the viewer: the min/max pyramid builder and the spectrogram tile worker.

Why threads and not QThreadPool tasks: both are long-lived loops with their own request state
(the tile worker replaces its queue on every pan / zoom so the visible range is computed first,
and drops requests nobody can see any more). Results come back through Qt signals, which are
queued onto the GUI thread. Nothing here touches a widget.
"""
from __future__ import annotations

import logging
import threading
import time

from PySide6.QtCore import QObject, Signal

from clinaudio_gui.ui.spectro import BlockReader, MinMaxPyramid, SpectroSettings, compute_tile

log = logging.getLogger(__name__)


class QtPyramidBuilder(QObject):
    """Builds a MinMaxPyramid of a file in a daemon thread; ``progress(filled, total)`` ~10 Hz."""

    progress = Signal(int, int)
    finished = Signal()
    failed = Signal(str)

    def __init__(self, reader: BlockReader, pyramid: MinMaxPyramid):
        super().__init__()
        self.reader = reader
        self.pyramid = pyramid
        self._last = 0.0
        self._thread = threading.Thread(target=self._run, name="clinaudio-pyramid", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def cancel(self) -> None:
        self.pyramid.cancelled = True

    def _tick(self, filled: int) -> None:
        now = time.monotonic()
        if now - self._last > 0.1:
            self._last = now
            self._emit(self.progress, filled, self.pyramid.frames)

    def _emit(self, signal, *args) -> None:
        try:
            signal.emit(*args)
        except RuntimeError:        # the window went away while we were building: stop quietly
            self.pyramid.cancelled = True

    def _run(self) -> None:
        try:
            self.pyramid.build(self.reader, progress=self._tick)
        except Exception as e:  # noqa: BLE001 - reported to the window, never raised in a thread
            if not self.pyramid.cancelled:
                log.exception("pyramid build failed")
                self._emit(self.failed, f"{self.reader.path}: cannot read audio ({e})")
            return
        if not self.pyramid.cancelled:
            self._emit(self.progress, self.pyramid.frames, self.pyramid.frames)
            self._emit(self.finished)


class QtTileWorker(QObject):
    """Computes spectrogram tiles in request order; ``tileReady(token, tile)``.

    ``request(token, reader, settings, keys)`` replaces the pending queue (visible tiles first).
    The token lets the view ignore tiles of a previous recording or settings.
    """

    tileReady = Signal(object, object)
    tileFailed = Signal(object, str)
    idle = Signal()

    def __init__(self):
        super().__init__()
        self._cond = threading.Condition()
        self._queue: list[tuple[int, int]] = []
        self._job = None        # (token, reader, settings)
        self._busy = False
        self._stop = False
        self._thread = threading.Thread(target=self._run, name="clinaudio-tiles", daemon=True)
        self._thread.start()

    def request(self, token, reader: BlockReader, settings: SpectroSettings, keys: list[tuple[int, int]]) -> None:
        with self._cond:
            self._job = (token, reader, settings)
            self._queue = list(keys)
            self._cond.notify()

    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + (1 if self._busy else 0)

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._queue = []
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._stop:
                    self._busy = False
                    self._cond.wait()
                if self._stop:
                    return
                level, index = self._queue.pop(0)
                token, reader, settings = self._job
                self._busy = True
            try:
                try:
                    tile = compute_tile(reader, settings, level, index)
                except Exception as e:  # noqa: BLE001
                    log.exception("tile failed")
                    self.tileFailed.emit(token, f"spectrogram tile {level}/{index}: {e}")
                    continue
                self.tileReady.emit(token, tile)
                with self._cond:
                    if not self._queue:
                        self._busy = False
                        self.idle.emit()
            except RuntimeError:     # the receiving window was deleted: end the thread
                return
