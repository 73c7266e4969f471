"""Side panel: spectrogram type and settings, theme, audio output device."""
from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDoubleSpinBox, QFormLayout, QGroupBox, QSpinBox,
                               QVBoxLayout, QWidget)

from clinaudio_gui.ui.spectro import COLORMAPS, KIND_TITLES, KINDS, SpectroSettings

FFT_SIZES = (128, 256, 512, 1024, 2048, 4096, 8192)


class _LazyCombo(QComboBox):
    """Fills itself when opened: listing audio devices initialises PortAudio's backends, which
    must not happen at start-up (it is slow, and binds to whatever sound server exists then)."""

    def __init__(self, fill, parent=None):
        super().__init__(parent)
        self._fill = fill

    def showPopup(self):
        self._fill()
        super().showPopup()


class QtSpectroSettings(QWidget):
    settingsChanged = Signal(object)     # SpectroSettings
    deviceChanged = Signal(object)       # device name or None
    themeChanged = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._s = SpectroSettings()
        self._quiet = False
        self.kind = QComboBox()
        for k in KINDS:
            self.kind.addItem(KIND_TITLES[k], k)
        self.n_fft = QComboBox()
        for n in FFT_SIZES:
            self.n_fft.addItem(str(n), n)
        self.hop = QSpinBox()
        self.hop.setRange(1, 8192)
        self.hop.setSuffix(" samples")
        self.n_bands = QSpinBox()
        self.n_bands.setRange(4, 256)
        self.f_min = QDoubleSpinBox()
        self.f_max = QDoubleSpinBox()
        for w in (self.f_min, self.f_max):
            w.setRange(0, 96000)
            w.setDecimals(0)
            w.setSingleStep(100)
            w.setSuffix(" Hz")
        self.db_min = QDoubleSpinBox()
        self.db_max = QDoubleSpinBox()
        for w in (self.db_min, self.db_max):
            w.setRange(-200, 100)
            w.setDecimals(0)
            w.setSingleStep(5)
            w.setSuffix(" dB")
        self.auto_db = QCheckBox("auto (once per recording)")
        self.cmap = QComboBox()
        self.cmap.addItems(COLORMAPS)
        f = QFormLayout()
        f.addRow("type", self.kind)
        f.addRow("FFT size", self.n_fft)
        f.addRow("hop", self.hop)
        f.addRow("bands / scales", self.n_bands)
        f.addRow("min frequency", self.f_min)
        f.addRow("max frequency", self.f_max)
        f.addRow("dB floor", self.db_min)
        f.addRow("dB ceiling", self.db_max)
        f.addRow("", self.auto_db)
        f.addRow("colormap", self.cmap)
        g = QGroupBox("Spectrogram")
        g.setLayout(f)
        self.device = _LazyCombo(self._fill_devices)
        self._device_lister = None
        self._device_current: str | None = None
        self.theme = QComboBox()
        self.theme.addItems(["dark", "light"])
        f2 = QFormLayout()
        f2.addRow("output device", self.device)
        f2.addRow("theme", self.theme)
        g2 = QGroupBox("Playback and look")
        g2.setLayout(f2)
        lay = QVBoxLayout(self)
        lay.addWidget(g)
        lay.addWidget(g2)
        lay.addStretch(1)
        for w in (self.kind, self.n_fft, self.cmap):
            w.currentIndexChanged.connect(self._changed)
        for w in (self.hop, self.n_bands, self.f_min, self.f_max, self.db_min, self.db_max):
            w.editingFinished.connect(self._changed)
        self.auto_db.toggled.connect(self._changed)
        self.device.activated.connect(lambda _i: self.deviceChanged.emit(self.device.currentData()))
        self.theme.activated.connect(lambda _i: self.themeChanged.emit(self.theme.currentText()))
        self.set_settings(self._s, emit=False)

    def settings(self) -> SpectroSettings:
        return self._s

    def set_settings(self, s: SpectroSettings, *, emit: bool = True) -> None:
        self._quiet = True
        self._s = s
        self.kind.setCurrentIndex(self.kind.findData(s.kind))
        self.n_fft.setCurrentIndex(max(0, self.n_fft.findData(s.n_fft)))
        self.hop.setValue(s.hop)
        self.n_bands.setValue(s.n_bands)
        self.f_min.setValue(s.f_min_hz)
        self.f_max.setValue(s.f_max_hz)
        self.db_min.setValue(s.db_min)
        self.db_max.setValue(s.db_max)
        self.auto_db.setChecked(s.auto_db)
        self.cmap.setCurrentText(s.colormap)
        self.n_bands.setEnabled(s.kind != "stft")
        self._quiet = False
        if emit:
            self.settingsChanged.emit(s)

    def set_output_devices(self, lister, current: str | None) -> None:
        """``lister()`` -> device names; called when the device list is opened."""
        self._device_lister = lister
        self._device_current = current
        self.device.clear()
        self.device.addItem(current or "default", current)

    def _fill_devices(self) -> None:
        names = self._device_lister() if self._device_lister is not None else []
        current = self.device.currentData()
        self.device.clear()
        self.device.addItem("default", None)
        for n in names:
            self.device.addItem(n, n)
        self.device.setCurrentIndex(max(0, self.device.findData(current)))
        self.device.setToolTip("" if names else "no audio output device (or PortAudio missing)")

    def set_theme_name(self, name: str) -> None:
        self.theme.setCurrentText(name)

    def _changed(self, *_):
        if self._quiet:
            return
        sender = self.sender()
        db_touched = sender in (self.db_min, self.db_max)
        n_fft = int(self.n_fft.currentData())
        hop = min(self.hop.value(), n_fft)
        if sender is self.n_fft:
            hop = n_fft // 4
        try:
            s = SpectroSettings(kind=self.kind.currentData(), n_fft=n_fft, hop=hop, n_bands=self.n_bands.value(),
                                f_min_hz=self.f_min.value(), f_max_hz=self.f_max.value(),
                                db_min=self.db_min.value(), db_max=self.db_max.value(),
                                auto_db=self.auto_db.isChecked() and not db_touched, colormap=self.cmap.currentText())
        except ValueError as e:
            self.setToolTip(str(e))
            self.set_settings(self._s, emit=False)
            return
        self.set_settings(s)
