"""NGS input files by content (ngs/files.py): the error names the kind of input that failed."""

from __future__ import annotations

import re

import pytest

from esr1calls.errors import InputError, UnknownFormatError, VcfFormatError
from esr1calls.hotspots import load_panel
from esr1calls.ngs import call_ngs
from esr1calls.ngs.files import sniff_ngs_format
from esr1calls.ngs.vcf_read import read_vcf_evidence


@pytest.mark.parametrize(
    "name, content, message",
    [
        ("plasma.bam", b"", "the file is empty; expected a VCF or BCF"),
        ("plasma.cram", b"hello\n", "not a VCF, BCF, BAM or CRAM (it starts with 'hello'"),
        ("plasma.vcf.gz", b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\xff\xff", "corrupt gzip data"),
    ],
)
def test_an_ngs_input_of_no_known_format_is_not_called_a_vcf_problem(
    tmp_path, name, content, message
):
    """A file given to ``esr1calls ngs`` may have been meant as a BAM/CRAM as well as a VCF: when
    its bytes are neither, the error is UnknownFormatError (the message is unchanged)."""
    path = tmp_path / name
    path.write_bytes(content)
    for run in (lambda: sniff_ngs_format(path), lambda: call_ngs([path])):
        with pytest.raises(UnknownFormatError, match=re.escape(message)) as caught:
            run()
        assert not isinstance(caught.value, VcfFormatError)
        assert str(caught.value).startswith(f"{name}: ")


def test_where_a_vcf_is_expected_the_same_file_is_a_vcf_problem(tmp_path):
    path = tmp_path / "calls.vcf"
    path.write_bytes(b"")
    with pytest.raises(VcfFormatError, match="the file is empty"):
        read_vcf_evidence(path, load_panel())


def test_an_unreadable_ngs_input_is_an_input_error(tmp_path):
    folder = tmp_path / "plasma.bam"
    folder.mkdir()  # a folder where a file was expected: open() fails
    with pytest.raises(InputError, match=r"^plasma\.bam: cannot read the file") as caught:
        sniff_ngs_format(folder)
    assert not isinstance(caught.value, VcfFormatError)
