"""The --out folder: only files latentcat wrote (in any subfolder, unchanged) may be replaced, a second run is
locked out, and an unwritable folder is refused before any work, each in one line."""

import pytest

from latentcat.errors import UserError
from latentcat.outputs import OutputFolder, Summary
from tests.conftest import disk_full_at, one_line, run_here


def sample(gen, *args):
    return run_here("infer.py", "sample", "--generator", gen, "--num", "1", *args)


def refusal(folder) -> str:
    with pytest.raises(UserError) as err, OutputFolder(folder):
        pass
    message = str(err.value)
    assert "\n" not in message and str(folder) in message
    return message


@pytest.mark.parametrize("name", ["summary.json", "grid.png", "seed0000-0000.png", "frames/000-good1-step00001.png"])
def test_a_users_file_of_any_name_in_any_subfolder_is_refused_and_untouched(tmp_path, name):
    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_bytes(b"precious")
    assert f"already holds {name}, which latentcat did not write" in refusal(tmp_path)
    assert (tmp_path / name).read_bytes() == b"precious"


def test_files_latentcat_wrote_may_be_replaced_but_not_once_the_user_changed_them(tmp_path):
    with OutputFolder(tmp_path) as out:
        out.json("summary.json", {"mine": True})
        out.write("frames/a.png", lambda p: p.write_bytes(b"frame"))
    with OutputFolder(tmp_path) as out:  # a rerun: every file is known, unchanged
        out.write("frames/a.png", lambda p: p.write_bytes(b"frame 2"))
        assert out.holds("frames/a.png") and out.previous_summary() == {"mine": True}
    (tmp_path / "frames" / "a.png").write_bytes(b"edited by the user")
    assert "already holds frames/a.png" in refusal(tmp_path)
    assert (tmp_path / "frames" / "a.png").read_bytes() == b"edited by the user"


def test_sample_refuses_a_folder_with_the_users_own_summary(gen, tmp_path):
    (tmp_path / "summary.json").write_text('{"command": "sample", "items": []}')
    one_line(sample(gen, "--out", tmp_path), "summary.json", "nothing was overwritten")
    assert (tmp_path / "summary.json").read_text() == '{"command": "sample", "items": []}'


def test_a_second_run_into_a_locked_folder_is_refused(gen, tmp_path):
    with OutputFolder(tmp_path) as first:
        first.save_summary(Summary("sample", {}))
        assert "another latentcat run is writing to this --out" in refusal(tmp_path)
        one_line(sample(gen, "--out", tmp_path), "another latentcat run")
    with OutputFolder(tmp_path):  # free again once the first run is over
        pass


def test_an_out_folder_that_cannot_be_made_is_refused_before_any_work(gen, tmp_path):
    (tmp_path / "file").write_text("a file, not a folder")
    one_line(sample(gen, "--out", tmp_path / "file" / "sub"), "cannot write to --out")
    one_line(sample(gen, "--out", tmp_path / "file"), "exists and is not a folder")


def test_a_write_error_is_one_line_and_keeps_what_was_written(tmp_path, monkeypatch):
    disk_full_at(monkeypatch, "b.png")
    full = r"could not write b.png \(No space left on device\); what was written"
    with pytest.raises(UserError, match=full), OutputFolder(tmp_path) as out:
        out.write("a.png", lambda p: p.write_bytes(b"a"))
        out.write("b.png", lambda p: p.write_bytes(b"b"))
    assert (tmp_path / "a.png").read_bytes() == b"a" and not (tmp_path / "b.png").exists()
    with OutputFolder(tmp_path) as out:  # a.png is still known as latentcat's
        assert out.holds("a.png")
