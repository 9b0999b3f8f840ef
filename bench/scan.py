"""Content scanning: messages/s per core with 1,000 terms + 10 patterns + the detectors,
Hyperscan against the pure-Python fallback, and what the send-time check adds to a send.

Two ways per engine: `batched` is the scanning stage's (`PolicySet.scan_many` over batches of
500, one Hyperscan call per batch), `per_message` one `scan` per message (the send path's).

Pure CPU, no database: it compiles the policy set the way a server does
(compliance.scanning.compiled.PolicySet) and scans generated chat-length messages in one
thread. Three runs per engine; prints the median, the spread ((max - min) / median) and the
CPU cost per message. The send-time figure times the block/warn check of each message
(one scan restricted to the gate policies) and reports its p50/p99/max.

    .venv/bin/python bench/scan.py                 # 100,000 messages, both engines
    .venv/bin/python bench/scan.py --messages 20000 --json
    .venv/bin/python bench/scan.py --extraction    # attachment text: pages/s, CPU per page
"""

import argparse
import io
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from compliance.scanning.compiled import PolicySet
from compliance.scanning.detectors import DETECTORS
from compliance.scanning.policies import PolicySpec, conditions_check

WORDS = [
    "the",
    "a",
    "to",
    "and",
    "of",
    "in",
    "is",
    "it",
    "for",
    "on",
    "that",
    "we",
    "you",
    "this",
    "with",
    "be",
    "are",
    "at",
    "have",
    "can",
    "will",
    "not",
    "do",
    "just",
    "so",
    "but",
    "what",
    "about",
    "if",
    "get",
    "me",
    "know",
    "think",
    "send",
    "call",
    "deal",
    "price",
    "client",
    "fund",
    "trade",
    "market",
    "order",
    "book",
    "desk",
    "team",
    "meeting",
    "today",
    "tomorrow",
    "morning",
    "update",
    "thanks",
    "ok",
    "please",
    "report",
    "numbers",
    "quarter",
    "risk",
    "rate",
    "bond",
    "equity",
    "fx",
    "spread",
    "close",
    "open",
    "yes",
    "no",
    "maybe",
    "later",
]
PATTERNS = [
    (r"acct-\d{6}", "account ref"),
    (r"\btkt\d{5,}\b", "ticket"),
    (r"\b[a-z]{3}/[a-z]{3} \d+\.\d+", "fx quote"),
    (r"\bpo box \d+", "po box"),
    (r"whats?app", "whatsapp"),
    (r"\bsignal (?:me|app)\b", "signal"),
    (r"\bdelete (?:this|the chat)\b", "delete this"),
    (r"off[ -]?(?:the )?record", "off record"),
    (r"\b\d{3}-\d{3}-\d{4}\b", "phone"),
    (r"[a-z0-9._%+-]+@gmail\.com", "gmail"),
]


def vocabulary(rng: random.Random, n: int) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    terms: set[str] = set()
    while len(terms) < n:
        word = "".join(rng.choice(letters) for _ in range(rng.randint(5, 10)))
        terms.add(word if rng.random() < 0.8 else f"{word} {rng.choice(WORDS)}")
    return sorted(terms)


def policy_set(terms: list[str], engine: str) -> PolicySet:
    conditions = conditions_check(
        {
            "lexicons": [{"name": "terms", "terms": terms, "exceptions": ["no guarantee"]}],
            "patterns": [{"name": name, "regex": regex} for regex, name in PATTERNS],
            "detectors": list(DETECTORS),
        }
    )
    specs = [
        PolicySpec(1, "flag", 1, ("flag",), conditions),
        PolicySpec(2, "block", 1, ("block",), {"detectors": ["payment_card", "private_key"]}),
    ]
    return PolicySet(specs, engine=engine)


def messages(rng: random.Random, terms: list[str], n: int) -> list[str]:
    found = []
    for i in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(3, 25))]
        if i % 100 == 0:
            words.insert(rng.randrange(len(words)), rng.choice(terms))
        if i % 500 == 0:
            words.append("card 4111 1111 1111 1111")
        found.append(" ".join(words).capitalize())
    return found


def run(policies: PolicySet, texts: list[str]) -> tuple[float, float, int]:
    """(messages/s, CPU ms per 1,000 messages, messages with a hit)."""
    hits = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for text in texts:
        if policies.scan(text):
            hits += 1
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return len(texts) / wall, cpu * 1e6 / len(texts), hits


def run_batched(policies: PolicySet, texts: list[str], batch: int) -> tuple[float, float, int]:
    """The scanning stage's way: `scan_many` over batches of `batch` messages."""
    hits = 0
    wall, cpu = time.perf_counter(), time.process_time()
    for first in range(0, len(texts), batch):
        hits += sum(1 for found in policies.scan_many(texts[first : first + batch]) if found)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return len(texts) / wall, cpu * 1e6 / len(texts), hits


def send_path(policies: PolicySet, texts: list[str]) -> dict[str, float]:
    """What the send-time check adds: one scan limited to the block/warn policies."""
    gate = policies.send_gate
    times = []
    for text in texts:
        start = time.perf_counter_ns()
        policies.scan(text, only=gate)
        times.append((time.perf_counter_ns() - start) / 1000)
    times.sort()
    return {
        "p50_us": round(times[len(times) // 2], 1),
        "p99_us": round(times[int(len(times) * 0.99)], 1),
        "max_us": round(times[-1], 1),
    }


def pdf_document(pages: list[list[str]]) -> bytes:
    """A PDF with these lines of text on its pages (Helvetica), built by hand."""
    n = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n)).encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + kids + b"] /Count %d >>" % n,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    for i, lines in enumerate(pages):
        drawn = b"".join(b"0 -14 Td (" + line.encode() + b") Tj " for line in lines)
        content = b"BT /F1 11 Tf 40 800 Td " + drawn + b"ET"
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents %d 0 R"
            b" /Resources << /Font << /F1 3 0 R >> >> >>" % (5 + 2 * i)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream")
    out, offsets = b"%PDF-1.4\n", []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    trailer = b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n"
    return out + trailer % (len(objects) + 1, xref)


def docx_document(pages: list[list[str]]) -> bytes:
    import docx
    from docx.enum.text import WD_BREAK

    document = docx.Document()
    for lines in pages:
        for line in lines:
            document.add_paragraph(line)
        document.paragraphs[-1].add_run().add_break(WD_BREAK.PAGE)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def extraction(rng: random.Random, runs: int, files: int, pages: int) -> dict[str, object]:
    """Pages/s through the reused extracting process, as the scanning stage calls it:
    `files` generated files of `pages` pages (50 lines of chat words) per format."""
    from compliance.scanning.extraction import extract_text, extractor

    def page() -> list[str]:
        return [" ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(50)]

    limits = {"max_pages": 200, "max_chars": 2_000_000, "seconds": 60, "memory_mb": 512}
    found: dict[str, object] = {"files": files, "pages_per_file": pages}
    for kind, make in (("pdf", pdf_document), ("docx", docx_document)):
        documents = [make([page() for _ in range(pages)]) for _ in range(files)]
        extract_text(documents[0], filename=f"warm.{kind}", content_type="", **limits)
        measured = []
        for _ in range(runs):
            wall, cpu = time.perf_counter(), 0.0
            for data in documents:
                done = extract_text(data, filename=f"f.{kind}", content_type="", **limits)
                assert done is not None
                assert not done.problem, done.problem
                cpu += done.cpu_seconds
            measured.append((files * pages / (time.perf_counter() - wall), cpu))
        cpu_s = statistics.median(c for _, c in measured)
        found[kind] = {
            "pages_per_s_median": round(statistics.median(r for r, _ in measured), 1),
            "spread_pct": spread([r for r, _ in measured]),
            "cpu_ms_per_page": round(cpu_s * 1000 / (files * pages), 2),
            "pages_per_cpu_s": round(files * pages / cpu_s, 1),
            "kib_per_file": round(statistics.median(len(d) for d in documents) / 1024, 1),
        }
    extractor(memory_mb=512).stop()
    return found


def spread(values: list[float]) -> float:
    return round((max(values) - min(values)) / statistics.median(values) * 100, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--terms", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=500, help="the stage's EIM_SCAN_BATCH")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--extraction", action="store_true", help="attachment extraction pages/s only"
    )
    parser.add_argument("--files", type=int, default=20, help="files per format (extraction)")
    parser.add_argument("--pages", type=int, default=10, help="pages per file (extraction)")
    options = parser.parse_args()
    rng = random.Random(12)
    if options.extraction:
        found = extraction(rng, options.runs, options.files, options.pages)
        found["load_average"] = [round(x, 2) for x in os.getloadavg()]
        print(json.dumps(found, indent=2))
        return
    terms = vocabulary(rng, options.terms)
    texts = messages(rng, terms, options.messages)
    report: dict[str, object] = {"messages": len(texts), "terms": len(terms)}
    for engine in ("hyperscan", "fallback"):
        started = time.perf_counter()
        policies = policy_set(terms, engine)
        compile_ms = (time.perf_counter() - started) * 1000
        policies.scan_many(texts[:2])  # the batch database compiles at the first batch
        report[engine] = {
            "compile_ms": round(compile_ms, 1),
            "batched": figures(
                [run_batched(policies, texts, options.batch) for _ in range(options.runs)]
            ),
            "per_message": figures([run(policies, texts) for _ in range(options.runs)]),
            "send_path": send_path(policies, texts[: min(len(texts), 20_000)]),
        }
    report["load_average"] = [round(x, 2) for x in os.getloadavg()]
    if options.json:
        print(json.dumps(report, indent=2))
        return
    print(f"{report['messages']} messages, {report['terms']} terms + 10 patterns + detectors")
    for engine in ("hyperscan", "fallback"):
        r = report[engine]
        assert isinstance(r, dict)
        for way in ("batched", "per_message"):
            f = r[way]
            print(
                f"{engine:>9} {way:>11}: {f['msgs_per_s_median']:>9,} msg/s wall"
                f" (spread {f['spread_pct']}%), {f['cpu_us_per_msg']} µs CPU/msg"
                f" = {f['msgs_per_cpu_s']:,} msg/s per CPU second, {f['messages_hit']} hit"
            )
        print(
            f"{engine:>9}: compile {r['compile_ms']} ms; send check p50"
            f" {r['send_path']['p50_us']} µs p99 {r['send_path']['p99_us']} µs"
            f" max {r['send_path']['max_us']} µs"
        )
    print(f"load average {report['load_average']}")


def figures(runs: list[tuple[float, float, int]]) -> dict[str, float]:
    rates = [r[0] for r in runs]
    cpu = statistics.median(r[1] for r in runs)
    return {
        "msgs_per_s_median": round(statistics.median(rates)),
        "spread_pct": spread(rates),
        "cpu_us_per_msg": round(cpu, 2),
        "cpu_spread_pct": spread([r[1] for r in runs]),
        # machine-independent: what one core does when it is not shared
        "msgs_per_cpu_s": round(1e6 / cpu),
        "messages_hit": runs[0][2],
    }


if __name__ == "__main__":
    main()
