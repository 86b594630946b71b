"""A small, safe XML parser for RDML: expat with DOCTYPE and entity declarations refused.

RDML never needs a DTD; refusing one closes entity expansion ("billion laughs") and external
entities in one rule. Each element's line number is kept so messages and ``source_row`` can
point into the XML.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from xml.parsers import expat

from ..errors import PlateFormatError


class _RefusedError(Exception):
    """Raised from expat handlers to stop at the first DOCTYPE or entity declaration."""


def _clark(name: str) -> str:
    """expat's "uri}local" into ElementTree's "{uri}local"."""
    return "{" + name if "}" in name else name


def parse_xml(path: Path, data: bytes, member: str) -> tuple[ET.Element, dict[int, int]]:
    """The root element and a map ``id(element) -> line``; PlateFormatError when unsafe or
    malformed (the place is the XML line)."""
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    builder = ET.TreeBuilder()
    lines: dict[int, int] = {}

    def start(name: str, attributes: dict[str, str]) -> None:
        element = builder.start(_clark(name), {_clark(k): v for k, v in attributes.items()})
        lines[id(element)] = parser.CurrentLineNumber

    def end(name: str) -> None:
        builder.end(_clark(name))

    def refuse_doctype(name: str, sysid: str | None, pubid: str | None, internal: int) -> None:
        raise _RefusedError

    def refuse_entity(
        name: str,
        parameter: int,
        value: str | None,
        base: str | None,
        sysid: str | None,
        pubid: str | None,
        notation: str | None,
    ) -> None:
        raise _RefusedError

    def refuse_external(
        context: str, base: str | None, sysid: str | None, pubid: str | None
    ) -> int:
        raise _RefusedError

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_entity
    parser.ExternalEntityRefHandler = refuse_external
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
    except _RefusedError:
        raise PlateFormatError(
            path,
            f"{member} declares a DOCTYPE or XML entities, which RDML never uses; refusing to "
            "read it (XML entity expansion)",
            place=f"line {parser.CurrentLineNumber}",
        ) from None
    except expat.ExpatError as exc:
        raise PlateFormatError(
            path,
            f"{'the file' if member == path.name else member} is not well-formed XML "
            f"({expat.errors.messages[exc.code]}); the file is damaged or truncated: "
            "export it again",
            place=f"line {exc.lineno}",
        ) from None
    return builder.close(), lines
