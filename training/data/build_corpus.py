#!/usr/bin/env python3
"""Builds Mnemo's English training corpus from text shipped in Debian packages.

    /usr/bin/python3 training/data/build_corpus.py                 # -> out/corpus/
    /usr/bin/python3 training/data/build_corpus.py --out DIR --check-packages

Standard library only. Every source is a Debian package installed by scripts/bootstrap; the
script reads the installed files, strips their markup (roff, POD, reStructuredText, HTML,
dictd), normalises whitespace, drops anything that is not valid UTF-8, cuts the text into
documents, caps each source so that no single one dominates, and splits the documents into a
training set and a held-out set (the held-out documents are reserved for the evaluation
haystacks of `mnemo eval`; nothing trains on them).

Outputs (all regenerated, none committed):
  DIR/train.jsonl.gz      one JSON object per line: {"id", "source", "text"}
  DIR/heldout.jsonl.gz    same, held-out documents
  DIR/spm_input.txt       the training split as lines (paragraphs), input of spm_train
  DIR/manifest.json       per source: package, version, licence, documents and characters

Determinism: the output depends only on the installed files (recorded with their package
versions in the manifest) and on --seed, which only chooses which documents are held out and
which documents of a capped source are kept.
"""

from __future__ import annotations

import argparse
import base64
import glob
import gzip
import hashlib
import html
import html.parser
import json
import os
import re
import subprocess
import sys
import unicodedata
from dataclasses import dataclass, field
from typing import Callable, Dict, Iterable, Iterator, List, Optional, Tuple

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_OUT = os.path.join(REPO, "out", "corpus")

Doc = Tuple[str, str]          # (document id, raw text)


# ============================================================================ text cleaning

_CTRL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u200e\u200f\u2028\u2029\ufeff\ufffd]")
_SPACES = re.compile(r"[ \u00a0\u2000-\u200a\u202f\u205f\u3000]+")


def normalise(text: str) -> str:
    """NFC, tabs -> spaces, control characters dropped, runs of spaces collapsed (leading
    indentation kept, capped at 24), trailing spaces removed, at most one blank line in a row."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = text.expandtabs(4)
    text = _CTRL.sub("", text)
    out: List[str] = []
    blank = 0
    for line in text.split("\n"):
        stripped = line.lstrip(" ")
        indent = min(24, len(line) - len(stripped))
        line = (" " * indent + _SPACES.sub(" ", stripped)).rstrip()
        if not line:
            blank += 1
            if blank > 1 or not out:
                continue
        else:
            blank = 0
        out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out)


_CODEY = re.compile(r"^\s*(\$ |# |>>> |\.\.\. |[{}|│├└┌┐┘┤┬┴┼─+=<>;]|[-*] |\d+[.)] |[A-Za-z_]+\(.*\)\s*[;{]?$)")


def _is_prose_line(line: str) -> bool:
    if not line.strip() or _CODEY.match(line):
        return False
    letters = sum(c.isalpha() or c == " " for c in line)
    return letters >= 0.75 * len(line)


LIT = "\ue000"          # marks a literal (code) line through normalise() and reflow()


def literal(line: str) -> str:
    ind = len(line) - len(line.lstrip(" "))
    return line[:ind] + LIT + line[ind:] if line.strip() else line


_ITEM = re.compile(r"^\s*([-*\u2022]|\d+[.)]|\([a-z0-9]+\)) +\S")


def reflow(text: str) -> str:
    """Joins hard-wrapped prose lines into one line per paragraph. A line is appended to the
    previous one when it looks like prose, the previous line is prose or starts a list item,
    and the indentation does not grow (so code, tables and quotations keep their breaks)."""
    out: List[str] = []
    prev_ok = False
    prev_indent = 0
    for line in text.split("\n"):
        indent = len(line) - len(line.lstrip(" "))
        if line.lstrip(" ").startswith(LIT):
            out.append(line.replace(LIT, ""))
            prev_ok = False
            continue
        prose = _is_prose_line(line)
        if prose and prev_ok and out and indent <= prev_indent and not out[-1].endswith(":"):
            out[-1] = out[-1] + " " + line.strip()
            continue
        out.append(line)
        item = bool(_ITEM.match(line)) and _is_prose_line(_ITEM.sub("x", line, count=1))
        prev_ok, prev_indent = prose or item, indent
    return "\n".join(out).replace(LIT, "")


def dedent_all(text: str) -> str:
    return "\n".join(l.strip() for l in text.split("\n"))


# ============================================================================ markup strippers

class _HTMLText(html.parser.HTMLParser):
    BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "table",
             "dt", "dd", "blockquote", "section", "title", "ul", "ol", "dl"}
    SKIP = {"script", "style", "head"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: List[str] = []
        self.skip = 0
        self.pre = 0

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip += 1
        if tag == "pre":
            self.pre += 1
        if tag in self.BLOCK:
            self.parts.append("\n\n" if tag in ("p", "pre", "table", "h1", "h2", "h3", "h4") else "\n")
        if tag in ("td", "th"):
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skip:
            self.skip -= 1
        if tag == "pre" and self.pre:
            self.pre -= 1
        if tag in self.BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if self.skip:
            return
        if not self.pre:
            data = re.sub(r"\s+", " ", data)
        self.parts.append(data)


def strip_html(src: str) -> str:
    p = _HTMLText()
    p.feed(src)
    p.close()
    text = "".join(p.parts)
    return "\n".join(l.strip() if not l.startswith("  ") else l for l in text.split("\n"))


_RST_ROLE = re.compile(r":[a-zA-Z:+-]+:`([^`<]*?)\s*(?:<[^`>]*>)?`")
_RST_LINK = re.compile(r"`([^`<]+?)\s*<[^`>]*>`_{1,2}")
_RST_UNDERLINE = re.compile(r"^\s*([=\-~^*#+\"'`:.])\1{2,}\s*$")


def strip_rst(src: str) -> str:
    lines = src.split("\n")
    out: List[str] = []
    skip_indent: Optional[int] = None
    lit_indent: Optional[int] = None      # inside a literal block introduced at this indentation
    pending_lit: Optional[int] = None
    for line in lines:
        ind = len(line) - len(line.lstrip())
        if lit_indent is not None:
            if not line.strip() or ind > lit_indent:
                out.append(literal(line))
                continue
            lit_indent = None
        if pending_lit is not None and line.strip():
            if ind > pending_lit:
                lit_indent = pending_lit
                pending_lit = None
                out.append(literal(line))
                continue
            pending_lit = None
        if skip_indent is not None:
            if not line.strip() or ind > skip_indent and line.lstrip().startswith(":"):
                continue
            skip_indent = None
        s = line.strip()
        if s.startswith(".. "):
            m = re.match(r"\.\. (?:[a-z-]+::)\s*(.*)", s)
            # keep the argument of content directives (note, versionadded, ...); drop the rest
            if m and re.match(r"\.\. (note|warning|seealso|versionadded|versionchanged|deprecated|"
                              r"impl-detail|attention|important|tip)::", s):
                if m.group(1):
                    out.append(" " * ind + m.group(1))
                skip_indent = ind
                continue
            if re.match(r"\.\. (code-block|sourcecode|code|doctest|testcode|testoutput)::", s):
                pending_lit = ind
                continue
            if re.match(r"\.\. (function|method|class|attribute|data|exception|module|"
                        r"decorator|describe|opcode|c:\w+|envvar|option|cmdoption|index|"
                        r"program|currentmodule|highlight|testsetup|testcleanup|toctree|"
                        r"sectionauthor|moduleauthor|productionlist|_|\|)", s):
                if m and m.group(1) and re.match(r"\.\. (function|method|class|attribute|data|"
                                                 r"exception|module|decorator|c:\w+)::", s):
                    out.append(" " * ind + m.group(1))
                skip_indent = ind
                continue
            skip_indent = ind
            continue
        if _RST_UNDERLINE.match(line):
            continue
        line = _RST_ROLE.sub(lambda m: m.group(1).lstrip("~!"), line)
        line = _RST_LINK.sub(r"\1", line)
        line = re.sub(r"``([^`]+)``", r"\1", line)
        line = re.sub(r"`([^`]+)`_{0,2}", r"\1", line)
        line = re.sub(r"\*\*([^*]+)\*\*", r"\1", line)
        line = re.sub(r"(?<![\w*])\*([^*\s][^*]*)\*(?![\w*])", r"\1", line)
        line = re.sub(r"\|([\w-]+)\|", r"\1", line)
        if line.rstrip().endswith("::"):
            pending_lit = ind
            if line.strip() == "::":
                continue
            line = line.rstrip()[:-1]
        out.append(line)
    return "\n".join(out)


_POD_CODE = re.compile(r"([IBCFSXZLE])<([^<>]*)>")
_POD_CODE2 = re.compile(r"([IBCFSXZLE])<<+\s+(.*?)\s+>>+")
_POD_ESC = {"lt": "<", "gt": ">", "verbar": "|", "sol": "/", "quot": '"', "amp": "&"}


def _pod_repl(m: re.Match) -> str:
    code, body = m.group(1), m.group(2)
    if code in "XZ":
        return ""
    if code == "E":
        if body.isdigit():
            return chr(int(body))
        return _POD_ESC.get(body, html.unescape(f"&{body};"))
    if code == "L":
        text = body.split("|", 1)[0] if "|" in body else body
        text = text.split("/", 1)[-1].strip('"') if "/" in text and "|" not in body and "://" not in text else text
        return text
    return body


def strip_pod(src: str) -> str:
    out: List[str] = []
    in_pod = True
    skip_block = False
    for line in src.split("\n"):
        if line.startswith("="):
            cmd = line.split(None, 1)
            word = cmd[0]
            arg = cmd[1] if len(cmd) > 1 else ""
            if word == "=cut":
                in_pod = False
                continue
            in_pod = True
            if word == "=begin":
                skip_block = True
                continue
            if word == "=end":
                skip_block = False
                continue
            if word.startswith("=head") or word == "=item":
                if arg.strip() in ("*", ""):
                    continue
                out.append("")
                out.append(arg)
                out.append("")
            continue
        if not in_pod or skip_block:
            continue
        out.append(literal(line) if line[:1] in (" ", "\t") else line)
    text = "\n".join(out)
    for _ in range(4):
        text = _POD_CODE2.sub(_pod_repl, text)
        text = _POD_CODE.sub(_pod_repl, text)
    return text


_ROFF_NAMED = {
    "em": "\u2014", "en": "\u2013", "aq": "'", "dq": '"', "lq": "\u201c", "rq": "\u201d",
    "oq": "\u2018", "cq": "\u2019", "bu": "\u2022", "co": "\u00a9", "rg": "\u00ae", "tm": "\u2122",
    "mu": "\u00d7", "di": "\u00f7", "+-": "\u00b1", "<=": "\u2264", ">=": "\u2265", "!=": "\u2260",
    "->": "\u2192", "<-": "\u2190", "de": "\u00b0", "ti": "~", "ha": "^", "rs": "\\", "ga": "`",
    "sl": "/", "ul": "_", "hy": "-", "mi": "-", "pl": "+", "eq": "=", "sq": "\u25a1", "dg": "\u2020",
    "ba": "|", "br": "|", "lh": "\u261c", "rh": "\u261e", "Fo": "\u00ab", "Fc": "\u00bb",
}


def _roff_escapes(s: str) -> str:
    s = re.sub(r"\\f(\[[^\]]*\]|\([A-Za-z0-9]{2}|[A-Za-z0-9])", "", s)
    s = re.sub(r"\\s[-+]?\d+", "", s)
    s = re.sub(r"\\\*\((\w\w)", lambda m: {"lq": "\u201c", "rq": "\u201d", "Tm": "\u2122"}.get(m.group(1), ""), s)
    s = re.sub(r"\\\*\[(\w+)\]", "", s)
    s = re.sub(r"\\\*\w", "", s)
    s = re.sub(r"\\\((..)", lambda m: _ROFF_NAMED.get(m.group(1), ""), s)
    s = re.sub(r"\\\[(\w+)\]", lambda m: _ROFF_NAMED.get(m.group(1), ""), s)
    s = re.sub(r"\\[nk]\(..|\\[nk]\[\w+\]|\\[nk]\w", "", s)
    s = re.sub(r"\\[hvwlLoDNxRSXbZ]'[^']*'", "", s)
    s = s.replace("\\-", "-").replace("\\e", "\\").replace("\\&", "").replace("\\~", " ")
    s = s.replace("\\ ", " ").replace("\\0", " ").replace("\\|", "").replace("\\^", "")
    s = s.replace("\\:", "").replace("\\c", "").replace("\\/", "").replace("\\,", "").replace("\\%", "")
    s = s.replace("\\(", "(").replace("\\'", "'").replace("\\`", "`").replace('\\"', "")
    s = re.sub(r"\\(.)", r"\1", s)
    return s


def _roff_args(arg: str) -> List[str]:
    parts = re.findall(r'"((?:[^"]|"")*)"|(\S+)', arg)
    return [a.replace('""', '"') if a else b for a, b in parts]


def strip_roff(src: str) -> str:
    """man(7) source -> text. In fill mode the words of text lines and font macros flow into
    one paragraph until a break (.PP, .SH, .TP, ...); .nf/.EX blocks stay literal; tbl
    tables keep one row a line."""
    out: List[str] = []
    para: List[str] = []
    no_fill = False
    table = 0            # 0: none, 1: tbl options/format section, 2: table data

    def brk():
        if para:
            out.append(" ".join(para))
            para.clear()

    def text(t: str):
        t = t.strip()
        if not t:
            return
        if no_fill:
            out.append(literal("    " + t))
        else:
            para.append(t)

    for raw in src.split("\n"):
        if raw.startswith(('.\\"', "'\\\"", '\\"')) or raw.strip() in (".", "'"):
            continue
        if table == 1:
            if raw.rstrip().endswith("."):
                table = 2
            continue
        if raw.startswith((".", "'")):
            m = re.match(r"[.']\s*(\S+)\s*(.*)", raw)
            if not m:
                continue
            req, arg = m.group(1), m.group(2)
            if req == "TS":
                brk()
                table = 1
            elif req == "TE":
                table = 0
                out.append("")
            elif req in ("SH", "SS"):
                brk()
                out.extend(["", _roff_escapes(" ".join(_roff_args(arg))).strip(), ""])
            elif req in ("B", "I", "SM", "SB"):
                text(_roff_escapes(" ".join(_roff_args(arg))))
            elif req in ("BR", "IR", "RB", "RI", "BI", "IB"):
                text(_roff_escapes("".join(_roff_args(arg))))
            elif req in ("PP", "P", "LP", "sp", "br", "RS", "RE", "in", "ti", "TP", "TQ", "HP"):
                brk()
                if req in ("PP", "P", "LP", "sp"):
                    out.append("")
            elif req == "IP":
                brk()
                a = _roff_args(arg)
                if a and a[0] not in ("\\(bu", "\\[bu]", "*", "-"):
                    out.append(_roff_escapes(a[0]))
            elif req in ("nf", "EX"):
                brk()
                no_fill = True
            elif req in ("fi", "EE"):
                no_fill = False
                out.append("")
            elif req in ("UE", "ME"):
                text(_roff_escapes(arg))
            elif req == "TH":
                a = _roff_args(arg)
                if a:
                    out.append(a[0] + (f"({a[1]})" if len(a) > 1 else ""))
                    out.append("")
            continue
        line = _roff_escapes(raw)
        if table == 2:
            line = line.replace("T{", "").replace("T}", "")
            if re.fullmatch(r"[\s_=]*", line):
                continue
            brk()
            out.append(literal(re.sub(r"\s*\t\s*", "  ", line).strip()))
            continue
        text(line)
    brk()
    return "\n".join(out)


# ============================================================================ sources

def _dictd_entries(stem: str) -> Iterator[Tuple[str, str]]:
    """(headword, body) of a dictd database, in the order of the data file."""
    b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

    def dec(s: str) -> int:
        v = 0
        for ch in s:
            v = v * 64 + b64.index(ch)
        return v

    with gzip.open(stem + ".dict.dz", "rb") as f:
        data = f.read()
    seen = set()
    entries = []
    with open(stem + ".index", encoding="utf-8", errors="replace") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3 or parts[0].startswith("00-database") or parts[0].startswith("00database"):
                continue
            off, ln = dec(parts[1]), dec(parts[2])
            if off in seen:
                continue
            seen.add(off)
            entries.append((off, ln, parts[0]))
    entries.sort()
    for off, ln, head in entries:
        raw = data[off:off + ln]
        try:
            yield head, raw.decode("utf-8")
        except UnicodeDecodeError:
            continue


def _group(items: Iterable[str], target_chars: int, prefix: str) -> Iterator[Doc]:
    buf: List[str] = []
    n = 0
    k = 0
    for it in items:
        buf.append(it)
        n += len(it)
        if n >= target_chars:
            yield f"{prefix}{k:05d}", "\n\n".join(buf)
            k += 1
            buf, n = [], 0
    if buf:
        yield f"{prefix}{k:05d}", "\n\n".join(buf)


def _gcide_clean(body: str) -> str:
    body = re.sub(r"\[[^\]\n]{0,30}(?:Webster|WordNet|PJC|Century|Chambers|RN)[^\]\n]{0,30}\]", "", body)
    body = re.sub(r"\\[^\\\n]{1,40}\\", "", body)            # pronunciation \A*buse"\
    body = re.sub(r"\{([^{}]*)\}", r"\1", body)            # cross references {word}
    body = re.sub(r" +([,.;])", r"\1", body)
    return body


def src_gcide() -> Iterator[Doc]:
    items = (_gcide_clean(b) for _, b in _dictd_entries("/usr/share/dictd/gcide"))
    yield from _group((reflow(normalise(dedent_all(i))) for i in items), 12000, "gcide/")


def src_devil() -> Iterator[Doc]:
    items = (reflow(normalise(b)) for _, b in _dictd_entries("/usr/share/dictd/devil"))
    yield from _group(items, 12000, "devil/")


def src_wordnet() -> Iterator[Doc]:
    def synsets(pos: str, tag: str) -> Iterator[str]:
        with open(f"/usr/share/wordnet/data.{pos}", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.startswith("  ") or "|" not in line:
                    continue
                head, gloss = line.split("|", 1)
                fields = head.split()
                n = int(fields[3], 16)
                words = [fields[4 + 2 * i].replace("_", " ") for i in range(n)]
                words = [re.sub(r"\([a-z]+\)$", "", w) for w in words]
                yield f"{', '.join(words)} ({tag}): {gloss.strip()}"
    for pos, tag in (("noun", "noun"), ("verb", "verb"), ("adj", "adjective"), ("adv", "adverb")):
        yield from _group(synsets(pos, tag), 12000, f"wordnet/{pos}/")


def src_kjv() -> Iterator[Doc]:
    out = subprocess.run(["bible", "gen1:1-rev22:21"], capture_output=True, check=True).stdout
    text = out.decode("utf-8", errors="strict")
    book, chapters = None, []
    cur: List[str] = []

    def flush():
        if book and cur:
            chapters.append((book, "\n".join(cur)))

    for line in text.split("\n"):
        m = re.fullmatch(r"((?:[1-3] )?[A-Z][A-Za-z ]+?) (\d+)", line.strip())
        if m and not line.startswith(" "):
            flush()
            book, cur = m.group(1), [f"{m.group(1)} {m.group(2)}", ""]
            continue
        v = re.match(r"\s+(\d+) (.*)", line)
        if v:
            cur.append(v.group(2))
        elif line.strip() and cur:
            cur[-1] += " " + line.strip()
    flush()
    books: Dict[str, List[str]] = {}
    order: List[str] = []
    for b, c in chapters:
        if b not in books:
            books[b] = []
            order.append(b)
        books[b].append(c)
    for i, b in enumerate(order):
        yield f"kjv/{i:02d}-{b.replace(' ', '_')}", f"The Book of {b}\n\n" + "\n\n".join(books[b])


FORTUNE_SKIP = {"art", "ascii-art", "translate-me"}


def src_fortunes() -> Iterator[Doc]:
    for path in sorted(glob.glob("/usr/share/games/fortunes/*")):
        name = os.path.basename(path)
        if "." in name or name in FORTUNE_SKIP or os.path.isdir(path):
            continue
        with open(path, "rb") as f:
            raw = f.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            continue
        items = [normalise(x) for x in re.split(r"^%\s*$", text, flags=re.M)]
        yield from _group((x for x in items if x), 16000, f"fortunes/{name}/")


def src_jargon() -> Iterator[Doc]:
    with gzip.open("/usr/share/doc/jargon-text/jargon.txt.gz", "rt", encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"\{([^{}]*)\}", r"\1", text)
    paras = [reflow(normalise(p)) for p in re.split(r"\n\s*\n", text)]
    yield from _group((p for p in paras if p), 16000, "jargon/")


def src_python_doc() -> Iterator[Doc]:
    root = "/usr/share/doc/python3.11/html/_sources"
    for path in sorted(glob.glob(root + "/**/*.rst.txt", recursive=True)):
        rel = os.path.relpath(path, root)[:-len(".rst.txt")]
        if rel.startswith(("whatsnew/changelog", "license", "copyright", "bugs", "contents")):
            continue
        with open(path, encoding="utf-8") as f:
            yield f"python/{rel}", reflow(normalise(strip_rst(f.read())))


def src_perl_doc() -> Iterator[Doc]:
    for path in sorted(glob.glob("/usr/share/perl/5.*/pod/*.pod")):
        name = os.path.basename(path)[:-4]
        if re.match(r"perl5\d+delta|perl\d+delta|perltoc$|perlapi$|perlintern$", name):
            continue
        with open(path, "rb") as f:
            raw = f.read()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
        yield f"perl/{name}", reflow(normalise(strip_pod(text)))


def _pkg_files(pkg: str) -> List[str]:
    out = subprocess.run(["dpkg", "-L", pkg], capture_output=True, text=True, check=True).stdout
    return sorted(l for l in out.split("\n") if l)


def src_manpages() -> Iterator[Doc]:
    for pkg in ("manpages", "manpages-dev"):
        for path in _pkg_files(pkg):
            if not re.search(r"/man/man\d/[^/]+\.gz$", path) or not os.path.isfile(path):
                continue
            with gzip.open(path, "rb") as f:
                raw = f.read()
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                continue
            if text.lstrip().startswith(".so ") or len(text) < 400:
                continue
            name = os.path.basename(path)[:-3]
            yield f"man/{name}", reflow(normalise(strip_roff(text)))


def src_debian_reference() -> Iterator[Doc]:
    for path in sorted(glob.glob("/usr/share/debian-reference/*.en.html")):
        name = os.path.basename(path).split(".")[0]
        if name == "index":
            continue
        with open(path, encoding="utf-8") as f:
            yield f"debref/{name}", reflow(normalise(strip_html(f.read())))


def src_debian_faq() -> Iterator[Doc]:
    for path in sorted(glob.glob("/usr/share/doc/debian/FAQ/*.en.html")):
        name = os.path.basename(path).split(".")[0]
        if name == "index":
            continue
        with open(path, encoding="utf-8") as f:
            yield f"debfaq/{name}", reflow(normalise(strip_html(f.read())))


@dataclass
class Source:
    name: str
    packages: List[str]          # packages the text comes from (first: the text's own package)
    reader: Callable[[], Iterator[Doc]]
    cap_chars: int               # keep at most this many characters (a deterministic subset)
    kind: str                    # prose | dictionary | documentation | quotations
    heldout_frac: float = 0.05
    min_chars: int = 300


SOURCES: List[Source] = [
    Source("kjv", ["bible-kjv-text", "bible-kjv"], src_kjv, 5_000_000, "prose", heldout_frac=0.08),
    Source("gcide", ["dict-gcide"], src_gcide, 9_000_000, "dictionary", heldout_frac=0.03),
    Source("wordnet", ["wordnet-base"], src_wordnet, 3_000_000, "dictionary", heldout_frac=0.03),
    Source("devil", ["dict-devil"], src_devil, 1_000_000, "dictionary", heldout_frac=0.10),
    Source("jargon", ["jargon-text"], src_jargon, 2_000_000, "dictionary", heldout_frac=0.10),
    Source("fortunes", ["fortunes", "fortunes-min"], src_fortunes, 4_000_000, "quotations"),
    Source("python", ["python3.11-doc"], src_python_doc, 7_000_000, "documentation"),
    Source("perl", ["perl-doc"], src_perl_doc, 5_000_000, "documentation"),
    Source("man", ["manpages", "manpages-dev"], src_manpages, 6_000_000, "documentation"),
    Source("debref", ["debian-reference-en"], src_debian_reference, 3_000_000, "documentation",
           heldout_frac=0.10),
    Source("debfaq", ["debian-faq"], src_debian_faq, 1_000_000, "documentation", heldout_frac=0.10),
]

# every package the corpus needs (scripts/bootstrap installs them)
PACKAGES = sorted({p for s in SOURCES for p in s.packages} | {"python3-doc"})


# ============================================================================ build

def _hash01(seed: int, key: str) -> float:
    h = hashlib.sha256(f"{seed}:{key}".encode()).digest()
    return int.from_bytes(h[:8], "little") / 2.0 ** 64


def package_version(pkg: str) -> str:
    r = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else ""


def package_licence(pkg: str) -> str:
    """A one-line summary of /usr/share/doc/<pkg>/copyright (its License: fields, or the
    first licence-like sentence)."""
    path = f"/usr/share/doc/{pkg}/copyright"
    if not os.path.exists(path):
        return "unknown (no copyright file)"
    with open(path, encoding="utf-8", errors="replace") as f:
        text = f.read()
    lic = []
    for m in re.finditer(r"^License:\s*(\S.*)$", text, flags=re.M):
        v = m.group(1).strip()
        if v not in lic:
            lic.append(v)
    if lic:
        return "; ".join(lic[:4])
    for pat, name in ((r"public domain", "public domain"), (r"GNU General Public License", "GPL"),
                      (r"BSD", "BSD"), (r"Permission is granted to make and distribute verbatim", "verbatim-copying permission")):
        if re.search(pat, text, flags=re.I):
            return name
    return "see copyright file"


def check_packages() -> List[str]:
    return [p for p in PACKAGES if not package_version(p)]


def build(out_dir: str, seed: int, only: Optional[List[str]] = None, verbose: bool = True) -> dict:
    os.makedirs(out_dir, exist_ok=True)
    manifest = {"seed": seed, "sources": [], "totals": {}}
    train_path = os.path.join(out_dir, "train.jsonl.gz")
    held_path = os.path.join(out_dir, "heldout.jsonl.gz")
    spm_path = os.path.join(out_dir, "spm_input.txt")
    tot = {"train_docs": 0, "train_chars": 0, "heldout_docs": 0, "heldout_chars": 0}
    with gzip.open(train_path + ".tmp", "wt", encoding="utf-8", compresslevel=6) as ft, \
            gzip.open(held_path + ".tmp", "wt", encoding="utf-8", compresslevel=6) as fh, \
            open(spm_path + ".tmp", "w", encoding="utf-8") as fs:
        for src in SOURCES:
            if only and src.name not in only:
                continue
            docs = []
            for doc_id, text in src.reader():
                text = normalise(text)
                # strict UTF-8 round trip (drops lone surrogates and the like)
                text = text.encode("utf-8", errors="ignore").decode("utf-8")
                if len(text) >= src.min_chars:
                    docs.append((doc_id, text))
            raw_chars = sum(len(t) for _, t in docs)
            # deterministic subset under the cap: order by hash, keep while under the cap
            order = sorted(docs, key=lambda d: _hash01(seed, "keep:" + d[0]))
            kept, n = [], 0
            for d in order:
                if n + len(d[1]) > src.cap_chars and kept:
                    continue
                kept.append(d)
                n += len(d[1])
            kept.sort(key=lambda d: d[0])
            held = [d for d in kept if _hash01(seed, "held:" + d[0]) < src.heldout_frac]
            if not held and kept:
                held = [min(kept, key=lambda d: _hash01(seed, "held:" + d[0]))]
            held_ids = {d[0] for d in held}
            st = {"name": src.name, "kind": src.kind, "packages": [], "raw_docs": len(docs),
                  "raw_chars": raw_chars, "train_docs": 0, "train_chars": 0,
                  "heldout_docs": 0, "heldout_chars": 0}
            for p in src.packages:
                st["packages"].append({"name": p, "version": package_version(p),
                                       "licence": package_licence(p)})
            for doc_id, text in kept:
                rec = json.dumps({"id": doc_id, "source": src.name, "text": text}, ensure_ascii=False)
                if doc_id in held_ids:
                    fh.write(rec + "\n")
                    st["heldout_docs"] += 1
                    st["heldout_chars"] += len(text)
                else:
                    ft.write(rec + "\n")
                    st["train_docs"] += 1
                    st["train_chars"] += len(text)
                    for line in text.split("\n"):
                        if line.strip():
                            fs.write(line.rstrip() + "\n")
            for k in tot:
                tot[k] += st[k]
            manifest["sources"].append(st)
            if verbose:
                print(f"{src.name:9s} raw {len(docs):6d} docs {raw_chars / 1e6:7.2f} MB chars | "
                      f"train {st['train_docs']:5d} docs {st['train_chars'] / 1e6:6.2f} M | "
                      f"held-out {st['heldout_docs']:4d} docs {st['heldout_chars'] / 1e6:5.2f} M",
                      flush=True)
    for p in (train_path, held_path, spm_path):
        os.replace(p + ".tmp", p)
    manifest["totals"] = tot
    manifest["files"] = {os.path.basename(p): os.path.getsize(p) for p in (train_path, held_path, spm_path)}
    with open(os.path.join(out_dir, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")
    if verbose:
        print(f"total: train {tot['train_docs']} docs {tot['train_chars'] / 1e6:.2f} M chars, "
              f"held-out {tot['heldout_docs']} docs {tot['heldout_chars'] / 1e6:.2f} M chars")
        print("files:", manifest["files"])
    return manifest


def read_jsonl(path: str) -> Iterator[dict]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            yield json.loads(line)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--only", nargs="*", help="build only these sources (debugging)")
    ap.add_argument("--check-packages", action="store_true", help="list missing packages and exit")
    ap.add_argument("--list-packages", action="store_true", help="print the packages needed and exit")
    args = ap.parse_args(argv)
    if args.list_packages:
        print(" ".join(PACKAGES))
        return 0
    missing = check_packages()
    if args.check_packages:
        print("missing:", " ".join(missing) if missing else "none")
        return 1 if missing else 0
    if missing:
        print("build_corpus: missing Debian packages (run scripts/bootstrap): " + " ".join(missing),
              file=sys.stderr)
        return 1
    build(args.out, args.seed, args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())
