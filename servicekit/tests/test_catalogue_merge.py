"""The .po merge driver keeps both branches' messages: what each side added, ours where both translate one,
theirs where ours is still empty."""

import subprocess
import sys

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from servicekit.catalogue_merge import main


def write(path, messages: dict[str, str]) -> None:
    catalog = Catalog(locale="zh_CN")
    for message, translation in messages.items():
        catalog.add(message, translation)
    with path.open("wb") as file:
        write_po(file, catalog, width=120, sort_output=True)


def read(path) -> dict[str, str]:
    with path.open("rb") as file:
        return {m.id: m.string for m in read_po(file) if m.id}


def test_both_sides_messages_are_kept_and_ours_wins_where_both_translate(tmp_path):
    ours, theirs = tmp_path / "ours.po", tmp_path / "theirs.po"
    write(ours, {"Amount": "金额", "Ours only": "我方", "Untranslated here": "", "Both": "我方译文"})
    write(theirs, {"Amount": "金额", "Theirs only": "对方", "Untranslated here": "对方译文", "Both": "对方译文"})
    assert main([str(ours), str(theirs), "servicekit/locale/zh_CN/LC_MESSAGES/messages.po"]) == 0
    assert read(ours) == {
        "Amount": "金额",
        "Ours only": "我方",
        "Theirs only": "对方",
        "Untranslated here": "对方译文",
        "Both": "我方译文",
    }


def test_git_merges_two_branches_that_add_neighbouring_messages_without_a_conflict(tmp_path):
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=tmp_path, capture_output=True, text=True, check=False)

    git("init", "-q", "-b", "main")
    git("config", "user.email", "t@example.org")
    git("config", "user.name", "t")
    git("config", "merge.catalogue.driver", f"{sys.executable} -m servicekit.catalogue_merge %A %B %P")
    (tmp_path / ".gitattributes").write_text("*.po merge=catalogue\n")
    po = tmp_path / "messages.po"
    write(po, {"A": "甲", "C": "丙"})
    git("add", ".")
    git("commit", "-qm", "base")
    git("checkout", "-qb", "other")
    write(po, {"A": "甲", "B2": "乙二", "C": "丙"})
    git("commit", "-qam", "theirs")
    git("checkout", "-q", "main")
    write(po, {"A": "甲", "B1": "乙一", "C": "丙"})
    git("commit", "-qam", "ours")
    merged = git("merge", "-q", "--no-edit", "other")
    assert merged.returncode == 0, merged.stdout + merged.stderr
    assert read(po) == {"A": "甲", "B1": "乙一", "B2": "乙二", "C": "丙"}
