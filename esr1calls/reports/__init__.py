"""Reports: a run's calls.json document and every file rendered from it.

``write.py`` (calls.json, calls.tsv and samples.tsv, the file names, atomic writing and
``write_reports``), ``document.py`` (reading a calls.json document: samples, runs, thresholds,
the texts that follow them), one module per rendered format (``html.py``, ``multiqc.py``,
``fhir.py``, ``vcf.py``; ``svg.py`` draws the charts), and ``merge.py`` (``esr1calls report``:
checking calls.json files and merging them into a cohort). Reports read the document, never
the callers that made it.
"""

from .write import (
    CALL_COLUMNS,
    SAMPLE_COLUMNS,
    SCHEMA_VERSION,
    ReportOptions,
    load_schema,
    to_json_document,
    write_document,
    write_reports,
)

__all__ = [
    "CALL_COLUMNS",
    "SAMPLE_COLUMNS",
    "SCHEMA_VERSION",
    "ReportOptions",
    "load_schema",
    "to_json_document",
    "write_document",
    "write_reports",
]
