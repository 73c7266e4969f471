"""The main window's model suggestions (a mixin of QtMainWindow): the suggestion bar under the
spectrogram; accept or reject one suggested segment or all of them (one undo step). Undoing an
accept puts the suggestion back on the suggestion track (redo takes it off again): the accepted
suggestions are remembered by the annotation command that added them (``_sugg_accepted``)."""
from __future__ import annotations

from PySide6.QtWidgets import QHBoxLayout, QPushButton, QWidget

from clinaudio_gui.ui.qt_elided_label import QtElidedLabel


class QtMainSuggestionsMixin:
    """Suggestions shown on the timeline's suggestion track (``_suggestions``,
    ``_suggestion_record``, ``_sugg_selected``), accepted into the annotations or dropped."""

    # ------------------------------------------------------------------ suggestions
    def _build_suggestion_bar(self) -> QWidget:
        """The bar under the timeline (hidden while there are no suggestions)."""
        self.sugg_bar = QWidget()
        sl = QHBoxLayout(self.sugg_bar)
        sl.setContentsMargins(8, 2, 8, 2)
        self.sugg_label = QtElidedLabel("")      # a long suggestion elides, never widens the window
        sl.addWidget(self.sugg_label, 1)
        for text, slot in (("Accept selected", self._accept_selected_suggestion),
                           ("Reject selected", self._reject_selected_suggestion),
                           ("Accept all", self.accept_all_suggestions), ("Reject all", self.reject_all_suggestions)):
            b = QPushButton(text)
            b.clicked.connect(slot)
            sl.addWidget(b)
        self.sugg_bar.hide()
        self._sugg_selected: int | None = None
        # id(command) -> (command, [(index, suggestion)], record suggestion or None): what Ctrl+Z
        # puts back on the track when it reverts that command
        self._sugg_accepted: dict[int, tuple] = {}
        return self.sugg_bar

    def add_suggestion_segments(self, segments, record_label: str | None = None,
                                record_confidence: float | None = None) -> None:
        """Show a model's suggestions on the suggestion track; each can be accepted or rejected."""
        self._suggestions = [s.replace(source="model") if s.source != "model" else s for s in segments]
        self._suggestion_record = (record_label, record_confidence)
        self._sugg_accepted = {}            # new suggestions: undo no longer brings old ones back
        self.timeline.set_suggestions(self._suggestions)
        self._update_suggestion_bar()
        n = len(self._suggestions)
        txt = f"{n} suggested segment(s)"
        if record_label:
            txt += f"; suggested record label {record_label}" + (
                f" ({record_confidence:.2f})" if record_confidence is not None else "")
        self.status(txt + " - accept or reject them under the spectrogram")

    def _update_suggestion_bar(self) -> None:
        n = len(self._suggestions)
        rl, rc = self._suggestion_record
        self.sugg_bar.setVisible(bool(n or rl))
        txt = f"<b>Model suggestions</b>: {n} segment(s)"
        if rl:
            txt += f" · record label <b>{rl}</b>" + (f" ({rc:.2f})" if rc is not None else "")
        if self._sugg_selected is not None and self._sugg_selected < n:
            s = self._suggestions[self._sugg_selected]
            txt += f" · selected: {s.label} {s.start_s:.2f}–{s.end_s:.2f} s"
        self.sugg_label.setText(txt)

    def _on_suggestion_clicked(self, i) -> None:
        self._sugg_selected = i
        self._update_suggestion_bar()

    def accept_suggestion(self, i: int) -> None:
        if self._annotations is None or not 0 <= i < len(self._suggestions):
            return
        s = self._suggestions.pop(i)
        self._annotations.add(s.replace(source="model"))
        self._remember_accepted([(i, s)], None)
        self._show_suggestions()

    def reject_suggestion(self, i: int) -> None:
        if 0 <= i < len(self._suggestions):
            self._suggestions.pop(i)
            self._sugg_selected = None
            self.timeline.set_suggestions(self._suggestions)
            self._update_suggestion_bar()

    def select_next_suggestion(self) -> None:
        """N: select the next suggestion (in time) and show it."""
        if not self._suggestions:
            self.status("no model suggestions")
            return
        order = sorted(range(len(self._suggestions)), key=lambda i: self._suggestions[i].start_s)
        cur = self._sugg_selected
        pos = order.index(cur) + 1 if cur in order else 0
        self._sugg_selected = order[pos % len(order)]
        s = self._suggestions[self._sugg_selected]
        if hasattr(self.timeline, "select_suggestion"):
            self.timeline.select_suggestion(self._sugg_selected)
        self._update_suggestion_bar()
        self.status(f"suggestion {pos % len(order) + 1}/{len(order)}: {s.label} {s.start_s:.2f}-{s.end_s:.2f} s"
                    + (f" ({s.confidence:.2f})" if s.confidence is not None else "") + "; A accept, R reject")

    def accept_current_suggestion(self) -> None:
        """A: accept the selected suggestion (the first in time when none is selected)."""
        if not self._suggestions:
            self.status("no model suggestions to accept")
            return
        if self._sugg_selected is None:
            self.select_next_suggestion()
        self._accept_selected_suggestion()

    def reject_current_suggestion(self) -> None:
        if not self._suggestions:
            self.status("no model suggestions to reject")
            return
        if self._sugg_selected is None:
            self.select_next_suggestion()
        self._reject_selected_suggestion()

    def _accept_selected_suggestion(self) -> None:
        if self._sugg_selected is not None:
            self.accept_suggestion(self._sugg_selected)

    def _reject_selected_suggestion(self) -> None:
        if self._sugg_selected is not None:
            self.reject_suggestion(self._sugg_selected)

    def accept_all_suggestions(self) -> None:
        if self._annotations is None:
            return
        rl, _rc = self._suggestion_record
        before = self._annotations.undo_top()
        with self._annotations.gesture("accept suggestions"):
            for s in self._suggestions:
                self._annotations.add(s.replace(source="model"))
            if rl and rl != self._annotations.record_label:
                self._annotations.set_record_label(rl)
        accepted = list(enumerate(self._suggestions)), tuple(self._suggestion_record)
        changed = self._annotations.undo_top() is not before
        self.reject_all_suggestions()
        if changed:
            self._remember_accepted(*accepted)

    def _remember_accepted(self, items, record) -> None:
        """The command just executed accepted ``items`` ([(index, suggestion)]) and ``record``."""
        c = self._annotations.undo_top()
        if c is not None:
            self._sugg_accepted[id(c)] = (c, items, record)

    def _accepted_by(self, command):
        """(items, record) that ``command`` accepted, or None."""
        got = self._sugg_accepted.get(id(command)) if command is not None else None
        return None if got is None or got[0] is not command else got[1:]

    def _suggestions_after_undo(self, command) -> None:
        """``command`` was just undone: if it accepted suggestions, they are suggestions again."""
        got = self._accepted_by(command)
        if got is None:
            return
        items, record = got
        for i, s in sorted(items, key=lambda t: t[0]):
            if all(x.id != s.id for x in self._suggestions):
                self._suggestions.insert(min(i, len(self._suggestions)), s)
        if record is not None and record[0] is not None:
            self._suggestion_record = tuple(record)
        self._show_suggestions()

    def _suggestions_after_redo(self, command) -> None:
        """``command`` was just redone: the suggestions it accepted leave the track again."""
        got = self._accepted_by(command)
        if got is None:
            return
        items, record = got
        ids = {s.id for _i, s in items}
        self._suggestions = [x for x in self._suggestions if x.id not in ids]
        if record is not None and record[0] is not None:
            self._suggestion_record = (None, None)
        self._show_suggestions()

    def _show_suggestions(self) -> None:
        """The track and the bar after the suggestions changed (none selected)."""
        self._sugg_selected = None
        self.timeline.set_suggestions(self._suggestions)
        self._update_suggestion_bar()

    def reject_all_suggestions(self) -> None:
        self._suggestions = []
        self._suggestion_record = (None, None)
        self._sugg_selected = None
        self.timeline.set_suggestions([])
        self._update_suggestion_bar()
