"""Reports: a run's calls.json document and every file rendered from it.

``calls_json.py`` (the calls.json document: built from a run, its schema), ``options.py`` (what a
report run writes: ``ReportFormat``, ``ReportOptions``), ``formats.py`` (``FORMATS``, the registry
of every format and the files it owns), ``write.py`` (rendering the registry's files and writing
them atomically: ``write_reports``), ``tables.py`` (calls.tsv, samples.tsv and the cell rule every
table shares), ``document.py`` (reading a calls.json document: samples, runs, thresholds, the texts
that follow them), one module per rendered format (``html.py``, ``multiqc.py``, ``fhir.py``,
``vcf.py``; ``svg.py`` draws the charts), and ``merge.py`` (``esr1calls report``: checking
calls.json files and merging them into a cohort). Reports read the document, never the callers
that made it.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_names

if TYPE_CHECKING:
    from .calls_json import SCHEMA_VERSION, load_schema, to_json_document
    from .formats import FORMATS
    from .options import ReportFormat, ReportOptions
    from .tables import CALL_COLUMNS, SAMPLE_COLUMNS
    from .write import write_document, write_reports

# on first use: importing one module of the package (the registry, say) loads no renderer
__getattr__ = lazy_names(
    __name__,
    {
        "CALL_COLUMNS": "tables",
        "FORMATS": "formats",
        "SAMPLE_COLUMNS": "tables",
        "SCHEMA_VERSION": "calls_json",
        "ReportFormat": "options",
        "ReportOptions": "options",
        "load_schema": "calls_json",
        "to_json_document": "calls_json",
        "write_document": "write",
        "write_reports": "write",
    },
)

__all__ = [
    "CALL_COLUMNS",
    "FORMATS",
    "SAMPLE_COLUMNS",
    "SCHEMA_VERSION",
    "ReportFormat",
    "ReportOptions",
    "load_schema",
    "to_json_document",
    "write_document",
    "write_reports",
]
