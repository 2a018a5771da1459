"""WARC files: names, rolling over between pairs, .open while written, repair, full disks."""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from archive.warc.files import (
    WarcFileWriter,
    complete_length,
    default_warc_dir,
    repair_open_files,
)
from tests.archive.warc.test_exchange import EXCHANGE
from tests.helpers import ROOT

NAME = re.compile(r"^tag-archiver-\d{17}-\d{5}-[A-Za-z0-9.-]+\.warc\.gz$")


def records_in(path: Path) -> list[tuple[str, str | None]]:
    with open(path, "rb") as handle:
        return [
            (r.rec_type, r.rec_headers.get_header("WARC-Target-URI"))
            for r in ArchiveIterator(handle, check_digests=True)
        ]


def read_every_member(path: Path) -> None:
    """gzip reads all members to the end and raises EOFError on a cut one (warcio#138)."""
    with gzip.open(path) as handle:
        while handle.read(1 << 16):
            pass


def write_some(directory: Path, count: int, **kwargs) -> WarcFileWriter:
    writer = WarcFileWriter(directory, warcinfo={"software": "test"}, **kwargs)
    for n in range(count):
        writer.write(replace(EXCHANGE, url=f"http://blog.test/p/{n}/"))
    return writer


def test_names_open_suffix_and_warcinfo_first(tmp_path):
    writer = write_some(tmp_path, 2)
    (partial,) = tmp_path.iterdir()
    assert partial.name.endswith(".warc.gz.open")
    writer.close()
    (final,) = tmp_path.iterdir()
    assert NAME.match(final.name)
    assert [t for t, _ in records_in(final)] == [
        "warcinfo",
        "response",
        "request",
        "response",
        "request",
    ]
    read_every_member(final)


def test_rolls_over_only_between_pairs(tmp_path):
    writer = write_some(tmp_path, 7, max_size=1)  # every exchange passes the limit
    writer.close()
    files = sorted(tmp_path.iterdir())
    assert len(files) == 7
    for path in files:
        kinds = [t for t, _ in records_in(path)]
        assert kinds == ["warcinfo", "response", "request"]
    assert len({NAME.match(p.name) is not None for p in files}) == 1


def test_never_appends_to_an_earlier_file(tmp_path):
    first = write_some(tmp_path, 1)
    first.close()
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    second = write_some(tmp_path, 1)
    second._stamp = first._stamp  # even with the same timestamp, a new serial is used
    second.close()
    for name, data in before.items():
        assert (tmp_path / name).read_bytes() == data
    assert len(list(tmp_path.iterdir())) == 2


def test_repair_cuts_back_to_the_last_whole_record(tmp_path):
    writer = write_some(tmp_path, 3)
    (partial,) = tmp_path.iterdir()
    whole = partial.stat().st_size
    half = gzip.compress(b"WARC/1.1\r\n" + os.urandom(4000))[:100]  # a crash mid-write
    writer._handle.write(half)
    writer._handle.close()  # the process died: the OS closes the file, nothing renames it
    assert complete_length(partial) == whole
    [(name, kept, cut)] = repair_open_files(tmp_path)
    assert (kept, cut) == (whole, 100)
    final = tmp_path / name
    assert not partial.exists() and final.exists()
    read_every_member(final)
    assert len(records_in(final)) == 7


def test_repair_of_a_file_cut_inside_its_first_record(tmp_path):
    (tmp_path / "x.warc.gz.open").write_bytes(gzip.compress(os.urandom(1000))[:50])
    [(_, kept, _)] = repair_open_files(tmp_path)
    assert kept == 0


def test_repair_of_a_missing_directory_is_a_no_op(tmp_path):
    assert repair_open_files(tmp_path / "nowhere") == []


def test_default_directory_is_beside_the_database():
    assert default_warc_dir("/data/pjfp.db") == Path("/data/pjfp-warc")


@pytest.mark.skipif(sys.platform != "linux", reason="ulimit -f is how we fill the disk")
def test_a_full_disk_is_a_clear_error_and_leaves_whole_records(tmp_path):
    script = (
        "import sys; from dataclasses import replace; from pathlib import Path\n"
        "from archive.warc.files import WarcFileWriter, WarcWriteError\n"
        "from tests.archive.warc.test_exchange import EXCHANGE\n"
        "w = WarcFileWriter(Path(sys.argv[1]), warcinfo={'software': 'test'})\n"
        "big = replace(EXCHANGE, body=bytes(range(256)) * 400)\n"
        "try:\n"
        "    for n in range(1000): w.write(big)\n"
        "except WarcWriteError as e:\n"
        "    print('ERROR', e); sys.exit(3)\n"
    )
    result = subprocess.run(
        [
            "bash",
            "-c",
            f'ulimit -f 200; exec "{sys.executable}" -c "$0" "$1"',
            script,
            str(tmp_path),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 3, result.stderr
    assert "File too large" in result.stdout
    repair_open_files(tmp_path)
    (final,) = tmp_path.iterdir()
    read_every_member(final)
    kinds = [t for t, _ in records_in(final)]
    assert kinds[0] == "warcinfo" and kinds.count("response") >= 1
