"""Reading a batch's input rows: CSV (any common separator) or JSON Lines, in the encoding they are in."""

from __future__ import annotations

import bisect
import codecs
import csv
import hashlib
import itertools
import json
import re
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, overload

from flowdeck._errors import (
    InvalidRequestError,
)
from flowdeck._providers import parse_ref

ENCODINGS_HINT = "save it as UTF-8 (Excel: Save As 'CSV UTF-8') or pass --encoding {likely}"


def likely_encoding(data: bytes) -> str:
    """The one-byte encoding a file that is not UTF-8 most likely has: Windows' cp1252 if it reads as
    that, else latin-1.

    Bytes 0x80-0x9f are curly quotes and dashes in cp1252 (what Excel saves as "CSV" on Windows) but
    invisible control codes in latin-1, so suggesting latin-1 for them would corrupt the text quietly.

    >>> likely_encoding(b"\\x93quoted\\x94"), likely_encoding("Zürich".encode("latin-1"))
    ('cp1252', 'cp1252')
    >>> likely_encoding(b"\\x81")  # undefined in cp1252
    'latin-1'
    """
    try:
        data.decode("cp1252")
    except UnicodeDecodeError:
        return "latin-1"
    return "cp1252"


class InputFileError(InvalidRequestError):
    """An input or results file cannot be used; the message names the file and the line."""


_PACK = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)
_DIGEST = json.JSONEncoder(sort_keys=True, default=str)  # json.dumps(..., sort_keys=True, default=str), made once


class BatchRow:
    """One input row: its 1-based line number in the file, the workflow it runs, and its inputs.

    A row keeps its inputs as JSON text (what :class:`Rows` holds, far smaller than a dict) and
    decodes them when they are used. Immutable by convention, like a frozen value.

    >>> row = BatchRow(2, "gumloop:f", {"domain": "stripe.com"})
    >>> row, row.inputs["domain"]
    (BatchRow(number=2, ref='gumloop:f', inputs={'domain': 'stripe.com'}), 'stripe.com')
    """

    __slots__ = ("_inputs", "number", "ref")

    def __init__(self, number: int, ref: str, inputs: Mapping[str, Any], *, text: str | None = None) -> None:
        self.number = number
        self.ref = ref
        # ``text``: the inputs as JSON already (a JSON Lines row read as it is), not encoded again.
        self._inputs = _PACK.encode(inputs) if text is None else text

    @property
    def inputs(self) -> dict[str, Any]:
        """The row's inputs (a new dict each time)."""
        value: dict[str, Any] = json.loads(self._inputs)
        return value

    def __repr__(self) -> str:
        return f"BatchRow(number={self.number!r}, ref={self.ref!r}, inputs={self.inputs!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, BatchRow):
            return NotImplemented
        return (self.number, self.ref, self.inputs) == (other.number, other.ref, other.inputs)

    def __hash__(self) -> int:
        return hash((self.number, self.ref))


def utf16_without_bom(data: bytes) -> str | None:
    """``utf-16-le`` or ``utf-16-be`` if ``data`` reads as UTF-16 text that lost its byte order mark.

    Text in a Latin script has a NUL in one byte of most of its UTF-16 characters, always the same
    one of each pair, and never in the other; binary files have their NULs anywhere.

    >>> utf16_without_bom("domain\\nstripe.com\\n".encode("utf-16-le")), utf16_without_bom(b"\\x89PNG\\x00\\x00\\x00")
    ('utf-16-le', None)
    """
    sample = data[: 65536 & ~1]
    if len(sample) < 4 or len(data) % 2:  # two characters at least
        return None
    for codec, high, low in (("utf-16-le", sample[1::2], sample[0::2]), ("utf-16-be", sample[0::2], sample[1::2])):
        if 0 not in low and high.count(0) >= 0.5 * len(high):
            try:
                data.decode(codec)
            except UnicodeDecodeError:
                return None
            return codec
    return None


def read_text(
    path: Path, encoding: str = "utf-8", *, hint: str = ENCODINGS_HINT, option: str | None = "--encoding"
) -> str:
    """A text file's content, or :class:`InputFileError` saying what is wrong with it, in one line.

    A byte order mark (UTF-8 or UTF-16) decides the encoding; ``encoding`` is for files without one.
    A file that is not text, or not in that encoding, is refused naming the line and column of the
    first bad byte, followed by ``hint``. ``option`` is the command line's way to set the encoding,
    named in the advice (None where there is none: the file must be UTF-8).

    >>> read_text(Path("leads.csv"))  # doctest: +SKIP
    'domain\\nstripe.com\\n'
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a folder, not a file") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    codec = codecs.lookup(encoding).name
    # A byte order mark beats any default or option: Excel writes one for
    # "CSV UTF-8" and "Unicode Text" (UTF-16).
    if data.startswith(codecs.BOM_UTF8):
        codec = "utf-8-sig"
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        codec = "utf-16"
    elif codec == "utf-8":
        codec = "utf-8-sig"
    wide = codec.startswith(("utf-16", "utf-32"))
    if wide and data and b"\x00" not in data[:65536]:  # its newlines and commas would hold NUL bytes
        raise InputFileError(f"{path}: is not {encoding} text (it holds no NUL bytes); {_not_wide(data, option)}")
    if not wide and b"\x00" in data[:65536]:
        utf16 = utf16_without_bom(data)
        if utf16 is not None:
            fix = f"pass {option} {utf16} or save it as UTF-8" if option else hint.format(likely=utf16)
            raise InputFileError(f"{path}: is a UTF-16 file without a byte order mark, not {encoding}; {fix}")
        maybe = f"; if it is UTF-16 text without a byte order mark, pass {option} utf-16-le (or utf-16-be)"
        raise InputFileError(
            f"{path}: is a binary file (it holds NUL bytes), expected {encoding} text{maybe if option else ''}"
        )
    try:
        return data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputFileError(
            f"{path} line {line}: byte 0x{data[exc.start]:02x} at column {column} is not {encoding}; "
            + hint.format(likely=likely_encoding(data))
        ) from None


def _not_wide(data: bytes, option: str | None) -> str:
    """What to do with a file read as UTF-16 or UTF-32 that is not: its likely encoding instead."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        likely = likely_encoding(data)
        return f"pass {option} {likely}" if option else f"it reads as {likely}"
    return f"it reads as UTF-8: leave {option} out" if option else "it reads as UTF-8"


def read_lines(path: Path, encoding: str = "utf-8") -> tuple[Iterator[str], int]:
    """:func:`read_text`'s lines (with their ends) and the file's size, read from disk a block at a
    time where the encoding allows, so a big file is never in memory whole; its errors are
    :func:`read_text`'s, in its words.

    UTF-8 and one-byte encodings are cut after a newline byte, which is never part of another
    character there; UTF-16 and UTF-32 files, and files with NUL bytes, are read whole.

    >>> lines, size = read_lines(Path("leads.csv"))  # doctest: +SKIP
    """
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            head = handle.read(65536)
    except OSError:
        head, size = b"\x00", 0  # read whole: read_text names what is wrong
    codec = codecs.lookup(encoding).name
    if b"\x00" in head or head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or "16" in codec or "32" in codec:
        text = read_text(path, encoding)
        return _lines(text), len(text)
    if head.startswith(codecs.BOM_UTF8) or codec == "utf-8":
        codec = "utf-8-sig"
    return _streamed(path, encoding, codec), size


def _streamed(path: Path, encoding: str, codec: str, block: int = 1 << 20) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder(codec)()
    carry = b""
    with path.open("rb") as handle:
        while True:
            data = carry + handle.read(block)
            final = len(data) == len(carry)
            cut = len(data) if final else data.rfind(b"\n") + 1
            piece, carry = data[:cut], data[cut:]
            try:
                text = decoder.decode(piece, final)
            except UnicodeDecodeError:
                read_text(path, encoding)  # raises the error, naming its line and column
                raise
            yield from _lines(text)
            if final:
                return


DELIMITERS = ",;\t|"  # a spreadsheet's "CSV", by locale and program


def read_rows(
    path: Path,
    ref: str,
    mapping: Mapping[str, str] | None = None,
    *,
    encoding: str = "utf-8",
    delimiter: str | None = None,
) -> Rows:
    """Read a ``.csv``/``.tsv`` (header row) or ``.jsonl`` (one object per line) input file.

    ``ref`` is a workflow reference, or ``column:<name>`` to take each row's reference from a column.
    ``mapping`` renames columns to input names (``{"Company Domain": "domain"}``). ``delimiter``
    separates a CSV file's fields; None: the one of ``, ; tab |`` the file's first lines use
    (:func:`sniff_delimiter`).

    >>> read_rows(Path("people.csv"), "databar:flow/42", {"Domain": "domain"})  # doctest: +SKIP
    """
    mapping = dict(mapping or {})
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xls", ".numbers", ".ods"):
        raise InputFileError(f"{path}: a spreadsheet; save it as CSV (UTF-8) first")
    if suffix not in (".csv", ".tsv", ".jsonl", ".ndjson"):
        raise InputFileError(f"{path}: expected a .csv or .jsonl file")
    lines, size = read_lines(path, encoding)
    if suffix in (".csv", ".tsv"):
        head = list(itertools.islice(lines, 20))  # what sniff_delimiter reads
        lines = itertools.chain(head, lines)
        records = _csv_records(path, lines, size, delimiter or sniff_delimiter("".join(head)))
    else:
        records = _jsonl_records(path, lines)
    ref_column = ref.removeprefix("column:") if ref.startswith("column:") else None
    rows = Rows()
    digest = hashlib.sha256()  # made as the rows are read
    valid: set[str] = set()  # references checked: most files name one
    for number, record, line in records:
        row_ref, inputs = _row_inputs(path, number, record, mapping, ref, ref_column)
        if row_ref not in valid:
            try:
                parse_ref(row_ref)
            except InvalidRequestError as exc:
                raise InputFileError(f"{path} row {number}: {exc}") from None
            valid.add(row_ref)
        as_read = line.strip() if line is not None and inputs is record and ref_column is None else None
        rows.add(number, row_ref, _PACK.encode(inputs) if as_read is None else as_read, inputs)
        digest.update(_digested(number, row_ref, inputs))
    if not rows:
        raise InputFileError(f"{path}: no input rows")
    rows.digest = (len(rows), digest.hexdigest())
    del lines, records
    _give_back()
    return rows


def _give_back() -> None:
    """Hand the freed heap back to the OS (glibc's ``malloc_trim``; elsewhere nothing).

    The file's text is freed once its rows are read, but glibc keeps the pages below the rows' store
    that grew after it, so a batch would carry the whole file's size for its life.
    """
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


class Ints(Sequence[int]):
    """A column of integers held as nothing while each is the one before plus ``step`` (a file's row
    numbers, one workflow for every row), as an array from the first that is not.

    >>> numbers = Ints(1)
    >>> for n in (2, 3, 4): numbers.append(n)
    >>> list(numbers), numbers.index_of(3), numbers.held
    ([2, 3, 4], 1, False)
    >>> numbers.append(9); list(numbers), numbers.held
    ([2, 3, 4, 9], True)
    """

    def __init__(self, step: int) -> None:
        self._step = step
        self._first = 0
        self._count = 0
        self._array: array[int] | None = None

    @property
    def held(self) -> bool:
        """Whether the values are held one by one."""
        return self._array is not None

    def append(self, value: int) -> None:
        """Add ``value`` after the others."""
        if self._array is None:
            if self._count == 0:
                self._first = value
            if value == self._first + self._count * self._step:
                self._count += 1
                return
            self._array = array("q", (self._first + i * self._step for i in range(self._count)))
        self._array.append(value)

    def index_of(self, value: int) -> int | None:
        """Where ``value`` is, when the values are not held one by one and it is among them; else None."""
        if self._array is not None or not self._step or not self._count:
            return None
        index, off = divmod(value - self._first, self._step)
        return index if not off and 0 <= index < self._count else None

    @overload
    def __getitem__(self, index: int) -> int: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[int]: ...
    def __getitem__(self, index: int | slice) -> int | Sequence[int]:
        if self._array is not None:
            return self._array[index]
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        return self._first + index * self._step

    def __iter__(self) -> Iterator[int]:
        if self._array is not None:
            return iter(self._array)
        if self._step:
            return iter(range(self._first, self._first + self._count * self._step, self._step))
        return itertools.repeat(self._first, self._count)

    def __len__(self) -> int:
        return self._count if self._array is None else len(self._array)


class Rows(Sequence[BatchRow]):
    """Rows held compactly, as :func:`read_rows` reads them: a row is its number, an index into the
    distinct workflows and its inputs' UTF-8 JSON in one shared buffer with its end offset (numbers,
    workflows and shapes that follow a rule hold nothing: :class:`Ints`), made into a
    :class:`BatchRow` only when it is used, so a batch's memory does not grow by an object per row.
    Rows keep the order they were added in; ``digest`` is their :func:`fingerprint`, made as read.

    >>> rows = Rows([BatchRow(2, "gumloop:f", {"domain": "a.com"}), BatchRow(3, "gumloop:f", {})])
    >>> len(rows), rows[1], rows.refs, rows.find(2)
    (2, BatchRow(number=3, ref='gumloop:f', inputs={}), ['gumloop:f'], BatchRow(number=2, ref='gumloop:f', \
inputs={'domain': 'a.com'}))
    """

    def __init__(self, rows: Iterable[BatchRow] = ()) -> None:
        self.digest: tuple[int, str] | None = None
        self.numbers = Ints(1)  # a file's lines, each row a line: nothing held
        self._refs: list[str] = []
        self._ref_ids: dict[str, int] = {}
        self.ref_ids = Ints(0)  # most files name one workflow
        # Each row's shape: its columns and which of them are blank, an index
        # into the few distinct ones, so a check of columns decodes no row.
        self.shapes: list[tuple[tuple[str, ...], frozenset[str]]] = []
        self.shape_ids = Ints(0)
        self._shape_ids: dict[tuple[tuple[str, ...], frozenset[str]], int] = {}
        self._text = bytearray()
        self._ends = array("q")
        for row in rows:
            self.append(row)

    def append(self, row: BatchRow) -> None:
        """Add ``row`` after the others."""
        self.add(row.number, row.ref, row._inputs, row.inputs)

    def add(self, number: int, ref: str, text: str, inputs: Mapping[str, Any]) -> None:
        """Add a row from its number, workflow and inputs (``text``: the same as JSON)."""
        shape = (tuple(inputs), frozenset(k for k, v in inputs.items() if is_blank(v)))
        shape_id = self._shape_ids.get(shape)
        if shape_id is None:
            shape_id = self._shape_ids[shape] = len(self.shapes)
            self.shapes.append(shape)
        self.shape_ids.append(shape_id)
        ref_id = self._ref_ids.get(ref)
        if ref_id is None:
            ref_id = self._ref_ids[ref] = len(self._refs)
            self._refs.append(ref)
        self.numbers.append(number)
        self.ref_ids.append(ref_id)
        self._text += text.encode("utf-8")
        self._ends.append(len(self._text))

    @property
    def refs(self) -> list[str]:
        """The distinct workflows of the rows, in the order first met."""
        return list(self._refs)

    def _row(self, index: int) -> BatchRow:
        begin = self._ends[index - 1] if index else 0
        text = self._text[begin : self._ends[index]].decode("utf-8")
        return BatchRow(self.numbers[index], self._refs[self.ref_ids[index]], {}, text=text)

    def find(self, number: int) -> BatchRow | None:
        """The row numbered ``number``, if there is one (rows are read in ascending order)."""
        index = self.numbers.index_of(number)
        if index is not None:
            return self._row(index)
        index = bisect.bisect_left(self.numbers, number)
        if index < len(self.numbers) and self.numbers[index] == number:
            return self._row(index)
        return next((self._row(i) for i, n in enumerate(self.numbers) if n == number), None)

    def of_ref(self, ref: str) -> Sequence[BatchRow]:
        """The rows of workflow ``ref``, held as compactly."""
        if self._refs == [ref]:
            return self
        ref_id = self._ref_ids.get(ref)
        return Rows(self._row(i) for i, at in enumerate(self.ref_ids) if at == ref_id)

    @overload
    def __getitem__(self, index: int) -> BatchRow: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[BatchRow]: ...
    def __getitem__(self, index: int | slice) -> BatchRow | Sequence[BatchRow]:
        if isinstance(index, slice):
            return [self._row(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._row(index)

    def __iter__(self) -> Iterator[BatchRow]:
        return (self._row(i) for i in range(len(self.numbers)))

    def __len__(self) -> int:
        return len(self.numbers)


def is_blank(value: Any) -> bool:
    """Whether an input's value is missing in all but name: None, or a string of nothing but spaces.

    >>> is_blank(" "), is_blank(0)
    (True, False)
    """
    return value is None or (isinstance(value, str) and not value.strip())


def distinct_refs(rows: Sequence[BatchRow]) -> list[str]:
    """The distinct workflows of ``rows``, in the order first met, without making every row of a
    :class:`Rows`.

    >>> distinct_refs([BatchRow(2, "gumloop:f", {}), BatchRow(3, "gumloop:f", {})])
    ['gumloop:f']
    """
    return rows.refs if isinstance(rows, Rows) else list(dict.fromkeys(row.ref for row in rows))


def by_ref(rows: Sequence[BatchRow]) -> dict[str, Sequence[BatchRow]]:
    """``rows`` by workflow, each group in row order.

    >>> by_ref([BatchRow(2, "gumloop:f", {}), BatchRow(3, "gumloop:g", {})])["gumloop:g"]
    [BatchRow(number=3, ref='gumloop:g', inputs={})]
    """
    if isinstance(rows, Rows):
        return {ref: rows.of_ref(ref) for ref in rows.refs}
    out: dict[str, list[BatchRow]] = {}
    for row in rows:
        out.setdefault(row.ref, []).append(row)
    return dict(out)


def _row_inputs(
    path: Path, number: int, record: dict[str, Any], mapping: Mapping[str, str], ref: str, ref_column: str | None
) -> tuple[str, dict[str, Any]]:
    """A record's workflow and inputs, its columns renamed by ``mapping``; InputFileError if it cannot be."""
    missing = [src for src in mapping if src not in record]
    if missing:
        columns = ", ".join(repr(c) for c in record) or "none"
        raise InputFileError(f"{path} row {number}: no column {missing[0]!r} to --map; the columns are {columns}")
    # A column renamed onto another's name would lose one of the values.
    taken = next(((src, dst) for src, dst in mapping.items() if dst in record and dst not in mapping), None)
    if taken is not None:
        raise InputFileError(
            f"{path} row {number}: input {taken[1]!r} given twice: by --map '{taken[0]}={taken[1]}' and by "
            f"the column {taken[1]!r}; map another column name, or drop one of them"
        )
    inputs = {mapping.get(k, k): v for k, v in record.items()} if mapping else record
    if ref_column is None:
        return ref, inputs
    if ref_column not in inputs:
        columns = ", ".join(repr(c) for c in inputs) or "none"
        raise InputFileError(
            f"{path} row {number}: no column {ref_column!r} to take each row's workflow from "
            f"(column:{ref_column}); the columns are {columns}"
        )
    row_ref = inputs.pop(ref_column)
    if not isinstance(row_ref, str) or not row_ref.strip():
        raise InputFileError(
            f"{path} row {number}: column {ref_column!r} must name a workflow, like <provider>:<id>; "
            f"it holds {json.dumps(row_ref)[:40]}"
        )
    return row_ref, inputs


def sniff_delimiter(text: str, lines: int = 20) -> str:
    """The field separator a CSV file's first lines use, of ``, ; tab |``; a comma when none is clear.

    Excel writes ``;`` where the decimal mark is a comma (most of Europe), and tabs for "Unicode Text".

    >>> sniff_delimiter("domain;name\\nstripe.com;Stripe\\n"), sniff_delimiter("Company Domain\\nstripe.com\\n")
    (';', ',')
    """
    sample = "\n".join(text.splitlines()[:lines])
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:  # one column, or no separator used consistently
        return ","


def _shown(delimiter: str) -> str:
    return "tab" if delimiter == "\t" else repr(delimiter)


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def _lines(text: str) -> Iterator[str]:
    """``text``'s lines with their ends (``\\n``, ``\\r\\n`` or ``\\r``), one at a time.

    Neither a list of them (a million rows' lines at once) nor ``io.StringIO`` (four bytes a character)
    would keep a big file's reading within a little more than its text.

    >>> list(_lines("a\\r\\nb\\rc\\nd"))
    ['a\\r\\n', 'b\\r', 'c\\n', 'd']
    """
    return (found.group() for found in _LINE.finditer(text))


def _csv_records(
    path: Path, lines: Iterator[str], size: int, delimiter: str = ","
) -> Iterator[tuple[int, dict[str, Any], str | None]]:
    # csv's field size limit guards streams of unknown length; this file's
    # is known, and a long text in one cell is an input like any other.
    previous = csv.field_size_limit(max(size, csv.field_size_limit()))
    try:
        for number, record in _csv_fields(path, lines, delimiter):
            yield number, record, None
    finally:
        csv.field_size_limit(previous)


def _csv_fields(path: Path, lines: Iterator[str], delimiter: str) -> Iterator[tuple[int, dict[str, Any]]]:
    # strict: an unclosed quote is an error, not a field eating the file.
    reader = csv.reader(lines, strict=True, delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise InputFileError(f"{path}: empty file (a header row is needed)") from None
    except csv.Error as exc:
        raise InputFileError(f"{path} row 1: {exc}") from None
    for i, name in enumerate(header, start=1):
        if not name.strip():
            raise InputFileError(f"{path} row 1: column {i} has an empty header")
    duplicates = [n for n, c in Counter(header).items() if c > 1]
    if duplicates:
        raise InputFileError(f"{path} row 1: column {duplicates[0]!r} appears twice in the header")
    begins = reader.line_num + 1  # a quoted field can span lines
    try:
        for values in reader:
            number = reader.line_num  # physical line, as an editor shows it
            begins = reader.line_num + 1
            if not values:
                continue
            if len(values) != len(header):
                raise InputFileError(
                    f"{path} row {number}: has {len(values)} fields but the header has {len(header)} "
                    f"({', '.join(header)}; read as {_shown(delimiter)}-separated: --delimiter sets the separator)"
                )
            yield number, dict(zip(header, values, strict=True))
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise InputFileError(f"{path} line {begins}: a quote opened in this row is never closed") from None
        raise InputFileError(f"{path} line {begins}: {exc}") from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise ValueError(f"key {key!r} appears twice")
        found[key] = value
    return found


def loads_json(text: str) -> Any:
    """``json.loads`` for a user's input: a key given twice, or nesting too deep to decode, is a
    ``json.JSONDecodeError`` too (silently keeping the last of two keys would send what nobody chose).

    >>> loads_json('{"domain": "a.com", "domain": "b.com"}')
    Traceback (most recent call last):
    json.decoder.JSONDecodeError: key 'domain' appears twice: line 1 column 1 (char 0)
    """
    try:
        return json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError:
        raise
    except ValueError as exc:
        raise json.JSONDecodeError(str(exc), text, 0) from None
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", text, 0) from None


_KEY_END = re.compile(r'"\s*:')


def _loads_row(line: str) -> Any:
    """:func:`loads_json` at the speed of ``json.loads`` for a flat object: one whose text has as many
    key ends (a quote, then a colon) as it has keys cannot have given a key twice.

    >>> _loads_row('{"domain": "a.com"}'), _loads_row('[1]')
    ({'domain': 'a.com'}, [1])
    """
    try:
        value = json.loads(line)
    except (ValueError, RecursionError):
        return loads_json(line)  # its error, in its words
    if not isinstance(value, dict) or any(isinstance(v, dict | list) for v in value.values()):
        return loads_json(line)
    if len(_KEY_END.findall(line)) != len(value):
        return loads_json(line)
    return value


def _jsonl_records(path: Path, lines: Iterator[str]) -> Iterator[tuple[int, dict[str, Any], str | None]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = _loads_row(line)
        except json.JSONDecodeError as exc:
            raise InputFileError(f"{path} row {number}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(value, dict):
            raise InputFileError(f"{path} row {number}: must be a JSON object, got {type(value).__name__}")
        yield number, value, line


def fingerprint(rows: Sequence[BatchRow]) -> str:
    """A digest of the rows, so a rerun with other inputs is refused rather than mixed in."""
    known = rows.digest if isinstance(rows, Rows) else None
    if known is not None and known[0] == len(rows):
        return known[1]
    digest = hashlib.sha256()
    for row in rows:
        digest.update(_digested(row.number, row.ref, row.inputs))
    return digest.hexdigest()


def _digested(number: int, ref: str, inputs: Mapping[str, Any]) -> bytes:
    return _DIGEST.encode([number, ref, inputs]).encode()
