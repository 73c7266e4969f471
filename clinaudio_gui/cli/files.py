"""File commands: ``info`` (audio file facts), ``convert`` (annotation formats), ``stats`` (a dataset folder).

Errors are ClinAudioError subclasses naming the file; the CLI turns them into exit code 2 and
one stderr line. ``convert`` builds the whole output before an atomic write, so a failure leaves
no output file and never touches the input.
"""
from __future__ import annotations

import json
import sys
import time
from collections import Counter
from pathlib import Path


def register(subparsers) -> None:
    from clinaudio_gui.io.formats import ALL_FORMATS

    p = subparsers.add_parser("info", help="sample rate, channels, duration, frames and format of an audio file")
    p.add_argument("audio", metavar="AUDIO", help="wav, flac, ogg, mp3 ...")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_info)

    p = subparsers.add_parser("convert", help="convert annotations between formats",
                              description="Convert annotations: " + ", ".join(ALL_FORMATS) + ". Without --from the "
                              "format of IN is recognised from its content (the extension where the content cannot "
                              "tell) and named on stderr; labels are mapped onto the label schema (default "
                              "sprsound-events: 'wheeze' -> Wheeze, ICBHI crackle -> DAS, HF_Lung I -> Inhalation ...), "
                              "labels that match nothing are kept and listed in one warning. The format of OUT "
                              "follows its extension unless --to is given.")
    p.add_argument("input", metavar="IN")
    p.add_argument("output", metavar="OUT")
    p.add_argument("--from", dest="from_fmt", metavar="FMT", choices=ALL_FORMATS, help="format of IN")
    p.add_argument("--to", dest="to_fmt", metavar="FMT", choices=ALL_FORMATS, help="format of OUT")
    p.add_argument("--audio", metavar="AUDIO",
                   help="the recording, for formats that store its duration (TextGrid); "
                        "without it the last annotation's end is used")
    p.add_argument("--schema", metavar="SCHEMA", default="sprsound-events",
                   help="label schema the labels are mapped onto: sprsound-events (default), sprsound-records, "
                        "icbhi-cycles, breath-phases, or a schema JSON file")
    p.add_argument("--keep-labels", action="store_true", help="no label mapping: labels exactly as IN has them")
    p.set_defaults(func=cmd_convert)

    p = subparsers.add_parser("stats", help="recordings, patients, duration and label counts of a dataset folder")
    p.add_argument("folder", metavar="DIR")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_stats)


def cmd_info(args) -> int:
    from clinaudio_gui.io.audio import audio_info
    info = audio_info(args.audio)
    info["duration_s"] = round(info["duration_s"], 6)
    if args.json:
        print(json.dumps(info))
    else:
        for k in ("path", "format", "subtype", "sample_rate_hz", "channels", "frames", "duration_s"):
            print(f"{k:15s} {info[k]}")
    return 0


def cmd_convert(args) -> int:
    from clinaudio_gui.core.errors import AnnotationFormatError
    from clinaudio_gui.core.schema import get_schema
    from clinaudio_gui.io.audio import audio_info
    from clinaudio_gui.io.formats import (CARRIES_BOX, CARRIES_RECORD_LABEL, detect_format, guess_format,
                                          read_annotations, write_annotations)
    from clinaudio_gui.io.hflung import hflung_mapping
    from clinaudio_gui.io.icbhi import icbhi_mapping
    from clinaudio_gui.io.labelmap import label_message, mapping_message
    src, dst = Path(args.input), Path(args.output)
    notes: list[str] = []     # printed once the output is written: a failure is one line, the error
    if not src.is_file():
        raise AnnotationFormatError("input file not found" if not src.exists() else "input is not a file", path=src)
    if dst.is_dir():
        raise AnnotationFormatError("output is a folder; give a file name", path=dst)
    try:
        schema = None if args.keep_labels else get_schema(args.schema)
    except ValueError as e:
        raise AnnotationFormatError(str(e), path=args.schema) from None
    duration_s = audio_info(args.audio)["duration_s"] if args.audio else None
    to_fmt = args.to_fmt or detect_format(dst, for_writing=True)
    from_fmt = args.from_fmt
    if from_fmt is None:
        from_fmt, why = guess_format(src)
        notes.append(f"note: {src}: read as {from_fmt} (recognised from {why}); give --from to override")
    a = read_annotations(src, from_fmt, schema=schema)
    msg = mapping_message(a)
    if msg:
        notes.append("note: " + msg)
    msg = label_message(a)
    if msg:
        notes.append(f"warning: {src}: {msg}")
    if a.record_label and to_fmt not in CARRIES_RECORD_LABEL:
        notes.append(f"note: {to_fmt} has no record label: {a.record_label!r} is not written")
    if any(s.is_box for s in a.segments) and to_fmt not in CARRIES_BOX:
        notes.append(f"note: {to_fmt} has no frequency boxes: low/high Hz are not written")
    if to_fmt == "icbhi":
        mapped = icbhi_mapping(a)
        if mapped:
            notes.append("note: ICBHI holds only normal/crackle/wheeze/both: "
                         + ", ".join(f"{k} -> {v}" for k, v in sorted(mapped.items())))
    if to_fmt == "hflung":
        mapped, dropped = hflung_mapping(a)
        if mapped:
            notes.append("note: HF_Lung types: " + ", ".join(f"{k} -> {v}" for k, v in sorted(mapped.items())))
        if dropped:
            notes.append(f"note: HF_Lung has no Normal type (an unlabelled stretch is normal): {dropped} segment(s) "
                         "not written")
    write_annotations(dst, a, to_fmt, audio_duration_s=duration_s)
    for n in notes:
        print(f"clinaudio: {n}", file=sys.stderr)
    print(f"{src} ({from_fmt}) -> {dst} ({to_fmt}): {len(a)} segment(s)"
          + (f", record label {a.record_label!r}" if a.record_label and to_fmt in CARRIES_RECORD_LABEL else ""))
    return 0


def _counts(c: Counter) -> dict:
    return dict(sorted(c.items(), key=lambda kv: (-kv[1], str(kv[0]))))


def dataset_stats(folder: str | Path) -> dict:
    """The numbers of ``clinaudio stats`` (also used by tests and docs)."""
    from clinaudio_gui.io.audio import audio_info
    from clinaudio_gui.io.dataset import scan_labeled
    t0 = time.perf_counter()
    items = scan_labeled(folder, include_unlabeled=True)
    duration_s = 0.0
    record_labels, event_labels, rates, channels, formats, diagnoses = (Counter() for _ in range(6))
    patients: set[str] = set()
    no_patient = 0
    for it in items:
        info = audio_info(it.audio_path)
        duration_s += info["duration_s"]
        rates[info["sample_rate_hz"]] += 1
        channels[info["channels"]] += 1
        if it.patient is None:
            no_patient += 1
        else:
            patients.add(it.patient)
        if it.annotations is None:
            continue
        formats[it.annotation_format or "?"] += 1
        if it.annotations.record_label:
            record_labels[it.annotations.record_label] += 1
        event_labels.update(s.label for s in it.annotations.segments)
    for p in patients:
        d = next((it.diagnosis for it in items if it.patient == p and it.diagnosis), None)
        if d:
            diagnoses[d] += 1
    out = {"folder": str(folder), "recordings": len(items),
           "labeled": sum(it.annotations is not None for it in items),
           "patients": len(patients), "recordings_without_patient_id": no_patient,
           "duration_s": round(duration_s, 3), "record_labels": _counts(record_labels),
           "events": sum(event_labels.values()), "event_labels": _counts(event_labels),
           "sample_rates_hz": {str(k): v for k, v in _counts(rates).items()},
           "channels": {str(k): v for k, v in _counts(channels).items()},
           "annotation_formats": _counts(formats)}
    if diagnoses:
        out["patient_diagnoses"] = _counts(diagnoses)
    out["scan_time_s"] = round(time.perf_counter() - t0, 3)
    return out


def cmd_stats(args) -> int:
    from clinaudio_gui.core.errors import ClinAudioError
    if not Path(args.folder).is_dir():
        raise ClinAudioError("not a folder" if Path(args.folder).exists() else "folder not found", path=args.folder)
    st = dataset_stats(args.folder)
    if args.json:
        print(json.dumps(st))
        return 0
    h = st["duration_s"] / 3600.0
    print(f"{st['folder']}: {st['recordings']} recordings ({st['labeled']} labeled), {st['patients']} patients, "
          f"{st['duration_s']:.1f} s ({h:.2f} h)")
    for title, key in (("record labels", "record_labels"), ("event labels", "event_labels"),
                       ("sample rates (Hz)", "sample_rates_hz"), ("channels", "channels"),
                       ("annotation formats", "annotation_formats"), ("patient diagnoses", "patient_diagnoses")):
        d = st.get(key)
        if d:
            total = f" ({st['events']} events)" if key == "event_labels" else ""
            print(f"{title}{total}: " + ", ".join(f"{k} {v}" for k, v in d.items()))
    if st["recordings_without_patient_id"]:
        print(f"recordings whose name gives no patient id: {st['recordings_without_patient_id']}")
    return 0
