"""A small, safe, incremental XML parser for RDML: expat with DOCTYPE and entity declarations
refused, fed in chunks so that memory does not grow with the file.

RDML never needs a DTD; refusing one closes entity expansion ("billion laughs") and external
entities in one rule. Elements are built as ElementTree elements and handed out as (event,
element, line) as soon as they start or end: the caller keeps what it needs and clears each
finished element (an RDML react with its amplification points is a few kB; the whole tree of a
20 MB file was half a GB). When the XML is malformed or cut short, the error names the elements
it ends inside (``run "Run 1", react "37"``), which a single-line export's line numbers cannot.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Container, Iterable, Iterator
from pathlib import Path
from typing import NoReturn
from xml.parsers import expat

from ..errors import PlateFormatError

Event = tuple[str, ET.Element, int, str]  # "start" | "end", the element, its line, its parent


class _RefusedError(Exception):
    """Raised from expat handlers to stop at the first DOCTYPE or entity declaration."""


def _clark(name: str) -> str:
    """expat's "uri}local" into ElementTree's "{uri}local"."""
    return "{" + name if "}" in name else name


def local_name(tag: str) -> str:
    """``{http://www.rdml.org}react`` -> ``react``."""
    return tag.rpartition("}")[2]


def describe(open_elements: Iterable[ET.Element]) -> str:
    """Where in the document a list of open (outermost first) elements is, by their names and
    ids: ``run "Run 1", react "37", data tar "Y537S"``; "" at the top level."""
    parts = []
    for element in open_elements:
        name = local_name(element.tag)
        if name in ("experiment", "run", "react"):
            parts.append(f'{name} "{element.get("id", "")}"')
        elif name == "data":
            tar = next((c for c in element if local_name(c.tag) == "tar"), None)
            parts.append("data" if tar is None else f'data tar "{tar.get("id", "")}"')
    if len(parts) > 1 and parts[0].startswith("experiment "):
        parts = parts[1:]  # run ids are what users know; the experiment adds nothing
    return ", ".join(parts)


def iterparse_xml(
    path: Path,
    chunks: Iterable[bytes],
    member: str,
    *,
    starts: Container[str] = (),
    ends: Container[str] = (),
    skip: Container[str] = (),
) -> Iterator[Event]:
    """(event, element, line, parent) as the elements named in ``starts`` start and those in
    ``ends`` (and every child of the root) end, reading ``chunks`` one by one. ``parent`` is the
    parent's local name ("" for the root); ``line`` is the start line (0 for an end).
    Subtrees named in ``skip`` are not built at all (melting curves, for the RDML reader).

    PlateFormatError when the XML declares a DOCTYPE or entities, or is malformed or cut
    short; the place names the elements the error is inside (or the line, at the top level).
    """
    parser = expat.ParserCreate(namespace_separator="}")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    builder = ET.TreeBuilder()
    events: list[Event] = []
    open_elements: list[ET.Element] = []
    names: list[str] = []  # local names of the open (built) elements
    skipped = 0  # how deep inside a skipped subtree the parser is

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal skipped
        if skipped:
            skipped += 1
            return
        local = name[name.rfind("}") + 1 :]
        if local in skip:
            skipped = 1
            parser.CharacterDataHandler = None  # its text is not wanted either
            return
        if any("}" in key for key in attributes):
            attributes = {_clark(k): v for k, v in attributes.items()}
        element = builder.start(_clark(name), attributes)
        if local in starts:
            events.append(("start", element, parser.CurrentLineNumber, names[-1] if names else ""))
        open_elements.append(element)
        names.append(local)

    def end(name: str) -> None:
        nonlocal skipped
        if skipped:
            skipped -= 1
            if not skipped:
                parser.CharacterDataHandler = builder.data
            return
        element = builder.end(_clark(name))
        open_elements.pop()
        local = names.pop()
        if local in ends or len(names) == 1:
            events.append(("end", element, 0, names[-1] if names else ""))

    def refuse(*_: object) -> NoReturn:
        raise _RefusedError

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = builder.data
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.buffer_text = True

    def feed(data: bytes, final: bool) -> None:
        try:
            parser.Parse(data, final)
        except _RefusedError:
            raise PlateFormatError(
                path,
                f"{member} declares a DOCTYPE or XML entities, which RDML never uses; refusing "
                "to read it (XML entity expansion)",
                place=f"line {parser.CurrentLineNumber}",
            ) from None
        except LookupError as exc:  # the XML declaration names an encoding no codec has
            raise PlateFormatError(
                path,
                f"{'the file' if member == path.name else member} declares an encoding that does "
                f"not exist ({exc}); the file is damaged: export it again",
                place=f"line {parser.CurrentLineNumber}",
            ) from None
        except expat.ExpatError as exc:
            inside = describe(open_elements)
            if final and open_elements:  # the data stop before the document does: a cut
                what = f"ends inside this <{local_name(open_elements[-1].tag)}> element"
            elif final and not events and not open_elements:
                what = "holds no XML element"
            else:
                detail = expat.errors.messages[exc.code]  # e.g. "not well-formed (invalid token)"
                detail = detail.removeprefix("not well-formed (").removesuffix(")")
                what = f"is not well-formed XML ({detail})"
            raise PlateFormatError(
                path,
                f"{'the file' if member == path.name else member} {what}; the file is damaged "
                "or truncated: export it again",
                place=inside or f"line {exc.lineno}, column {exc.offset + 1}",
            ) from None

    for chunk in chunks:
        feed(chunk, False)
        yield from events
        events.clear()
    feed(b"", True)
    yield from events
