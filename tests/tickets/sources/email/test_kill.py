"""A real `ingest_email --dir` process killed mid-run, then run again: nothing lost or doubled."""

import os
import signal
import sqlite3
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[4]
COUNT = 400


def write_mail(folder: Path) -> None:
    folder.mkdir()
    for i in range(COUNT):
        message = EmailMessage()
        message["From"] = f"customer{i % 40}@example.com"
        message["To"] = "support@mywallet.example"
        message["Subject"] = f"支付失败 #{i}"
        message["Message-ID"] = f"<kill-{i}@mail.example.com>"
        message.set_content(f"第 {i} 封：付款失败，请帮忙查看。")
        (folder / f"{i:04d}.eml").write_bytes(message.as_bytes())


def test_a_killed_import_resumes_without_losing_or_doubling_anything(tmp_path):
    write_mail(tmp_path / "mail")
    database = tmp_path / "db.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "DJANGO_MEDIA_ROOT": str(tmp_path / "media"),
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    manage = [sys.executable, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, timeout=120)
    ingest = [*manage, "ingest_email", "--dir", str(tmp_path / "mail")]

    first = subprocess.Popen(ingest, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    stored = 0
    while time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.05)
        with sqlite3.connect(database, timeout=5) as db:
            stored = db.execute("SELECT count(*) FROM tickets_inboundmessage").fetchone()[0]
        if stored >= 100:
            break
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert 0 < stored < COUNT, "the kill should land mid-import"

    second = subprocess.run(ingest, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr

    with sqlite3.connect(database) as db:
        rows = db.execute(
            "SELECT status, count(*) FROM tickets_inboundmessage GROUP BY status"
        ).fetchall()
        messages = db.execute(
            "SELECT count(*), count(DISTINCT external_id) FROM tickets_message"
        ).fetchone()
        raws = db.execute("SELECT count(DISTINCT sha256) FROM tickets_inboundmessage").fetchone()
    statuses = dict(rows)
    # Every file taken exactly once, all filed, none left pending.
    assert raws[0] == COUNT
    assert statuses.get("pending", 0) == 0
    assert statuses.get("processed", 0) + statuses.get("duplicate", 0) == COUNT
    assert messages == (COUNT, COUNT)
