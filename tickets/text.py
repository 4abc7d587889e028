"""Text of a message for people: HTML turned into plain text, the language it is in, and
the agent's view with quoted earlier mail and signatures folded away. Pure functions."""

import re
from html import unescape
from html.parser import HTMLParser


def _one_line(value: str) -> str:
    return " ".join(value.replace("\x00", "").split())


def clipped(value: str, limit: int) -> str:
    """``value`` on one line (whitespace collapsed), cut to ``limit`` characters with an
    ellipsis: a ticket's latest-message preview in the inbox."""
    line = _one_line(value)
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def title_from(text: str, limit: int = 80) -> str:
    """A ticket's subject from a message that came without one (a chat's first line): its
    first non-empty line, clipped."""
    for line in (text or "").splitlines():
        if line.strip():
            return clipped(line, limit)
    return ""


class _TextFromHTML(HTMLParser):
    _BLOCKS = frozenset(
        {"p", "div", "li", "ul", "ol", "tr", "table", "blockquote", "pre", "hr", "dl", "dt"}
        | {"dd", "h1", "h2", "h3", "h4", "h5", "h6", "section", "article", "header", "footer"}
        | {"address", "center", "form", "fieldset"}
    )
    _PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol"}) | {
        "blockquote",
        "pre",
        "hr",
        "dl",
    }
    _HIDDEN = frozenset({"script", "style", "title", "template"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.hidden = 0
        self.quote = 0
        self.pre = 0

    def handle_starttag(self, tag, attrs):
        if tag in self._HIDDEN:
            self.hidden += 1
        elif tag == "br":
            self._break(keep_empty=True)
        elif tag in self._BLOCKS:
            self._break(paragraph=tag in self._PARAGRAPHS)
            if tag == "blockquote":
                self.quote += 1
            elif tag == "pre":
                self.pre += 1
            elif tag == "li":
                self.current.append("- ")
        elif tag in ("td", "th"):
            self.current.append(" ")

    def handle_endtag(self, tag):
        if tag in self._HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in self._BLOCKS:
            self._break(paragraph=tag in self._PARAGRAPHS)
            if tag == "blockquote":
                self.quote = max(0, self.quote - 1)
            elif tag == "pre":
                self.pre = max(0, self.pre - 1)

    def handle_data(self, data):
        if self.hidden:
            return
        if self.pre:
            first, *rest = data.split("\n")
            self.current.append(first)
            for line in rest:
                self._break(keep_empty=True)
                self.current.append(line)
        else:
            self.current.append(re.sub(r"\s+", " ", data))

    def _break(self, *, keep_empty: bool = False, paragraph: bool = False):
        """End the current line; a paragraph also leaves one blank line after it."""
        line = "".join(self.current)
        line = line.rstrip() if self.pre else line.strip()
        if line or keep_empty:
            self.lines.append("> " * self.quote + line if line else ">" * self.quote)
        if paragraph and self.lines and self.lines[-1]:
            self.lines.append("")
        self.current = []

    def text(self) -> str:
        self._break()
        return re.sub(r"\n{3,}", "\n\n", "\n".join(self.lines)).strip()


def html_to_text(html: str) -> str:
    """Readable text from an HTML body: tags dropped, blocks and <br> as line breaks,
    entities decoded, <blockquote> as "> " quoting (so quoted_split can fold it)."""
    try:
        parser = _TextFromHTML()
        parser.feed(html)
        parser.close()
        return parser.text().replace("\x00", "")
    except Exception:  # html.parser asserts on some malformed markup
        return _one_line(unescape(re.sub(r"<[^>]*>", " ", html)))


_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN_WORD = re.compile(r"[A-Za-z]+")


def detect_language(text: str) -> str:
    """ "zh-hans" when Chinese characters outnumber Latin words, else "en"."""
    # A sample is enough, and keeps the work bounded on megabyte bodies.
    text = re.sub(r"[^\s@]+@[^\s@]+|https?://\S+", " ", text[:20_000])
    cjk = len(_CJK.findall(text))
    return "zh-hans" if cjk and cjk >= len(_LATIN_WORD.findall(text)) else "en"


# --- the agent's view: new text, and the quoted reply folded away ------------------------------

_ATTRIBUTION = re.compile(
    r"^\s*(?:"
    r"On\b.{0,400}\bwrote:"  # Gmail, Apple Mail, Thunderbird
    r"|在.{0,400}写道\s*[：:]"  # QQ Mail, Foxmail, Apple Mail in Chinese
    r"|.{0,400}于.{0,200}写道\s*[：:]"  # Gmail in Chinese: "张三 <a@b> 于2026年11月20日周五 写道："
    r"|-{2,}\s*(?:Original Message|Reply Message|原始邮件|回复的原邮件)\s*-{2,}"
    r")\s*$",
    re.IGNORECASE,
)
_ATTRIBUTION_START = re.compile(r"^\s*On\b.{0,400}$")
_WROTE = re.compile(r"^.{0,400}\bwrote:\s*$")
_HEADER_FROM = re.compile(r"^\s*\*?\s*(?:From|发件人)\s*\*?\s*[:：]", re.IGNORECASE)
_HEADER_SENT = re.compile(r"^\s*\*?\s*(?:Sent|Date|发送时间|日期)\s*\*?\s*[:：]", re.IGNORECASE)
_RULE = re.compile(r"^\s*_{8,}\s*$")
_FORWARDED = re.compile(
    r"^\s*(?:-+\s*(?:Forwarded message|转发的邮件)\s*-+|Begin forwarded message:)\s*$",
    re.IGNORECASE,
)
_SIGNATURE = re.compile(
    r"^(?:-- ?|Sent from my [\w .-]{1,40}|发自我的\s*\S{1,20}|从我的\s*\S{1,20}\s*发送)\s*$"
)


def quoted_split(text: str) -> tuple[str, str]:
    """(new text, folded rest): the quoted earlier mail and the signature, for the agent's
    view. When nothing new would be left, nothing is folded."""
    lines = (text or "").split("\n")
    for cut in _cuts(lines):
        new = "\n".join(lines[:cut]).rstrip()
        if new.strip():
            return new, "\n".join(lines[cut:]).strip("\n").rstrip()
    return (text or "").rstrip(), ""


def _cuts(lines: list[str]) -> list[int]:
    """Line numbers where folding could start, earliest first."""
    cuts: list[int] = []
    for number, line in enumerate(lines):
        if _ATTRIBUTION.match(line) or _SIGNATURE.match(line):
            cuts.append(number)
        elif (
            _ATTRIBUTION_START.match(line)
            and number + 1 < len(lines)
            and _WROTE.match(lines[number + 1])
        ):
            cuts.append(number)  # "On ..., Alice <a@b.example>" / "wrote:" wrapped
        elif _HEADER_FROM.match(line) and any(
            _HEADER_SENT.match(following) for following in lines[number + 1 : number + 5]
        ):
            above = number - 1
            while above >= 0 and not lines[above].strip():
                above -= 1
            if above >= 0 and _FORWARDED.match(lines[above]):
                continue  # a forwarded message is what the customer wants us to read
            cuts.append(above if above >= 0 and _RULE.match(lines[above]) else number)
    # A trailing block of "> " quoted lines (not interleaved replies: those stay visible).
    start = len(lines)
    while start > 0 and (not lines[start - 1].strip() or lines[start - 1].startswith(">")):
        start -= 1
    if any(line.startswith(">") for line in lines[start:]):
        # With the attribution just above it ("On ... wrote:", wrapped or not).
        above = start - 1
        while above >= 0 and not lines[above].strip():
            above -= 1
        if above >= 0 and (_ATTRIBUTION.match(lines[above]) or _WROTE.match(lines[above])):
            start = above
            if above > 0 and _ATTRIBUTION_START.match(lines[above - 1]):
                start = above - 1
        cuts.append(start)
    return sorted(set(cuts))
