"""`run_bot.py preview`: the offline digest preview, as a user runs it."""

import json
from pathlib import Path

import pytest

from run_bot import main

KEYS = {"id", "source", "title", "url", "published", "topics", "keywords", "bullets"}


def preview(capsys, *args):
    status = main(["preview", *args])
    out, err = capsys.readouterr()
    return status, out, err


def test_json_preview_of_the_bundled_sample(capsys):
    status, out, _ = preview(capsys, "--json")
    assert status == 0
    records = json.loads(out)
    assert len(records) == 11
    for record in records:
        assert record.keys() >= KEYS
        assert 1 <= len(record["bullets"]) <= 3
        assert all(isinstance(bullet, str) and bullet for bullet in record["bullets"])
        assert record["title"] not in record["bullets"]
    english = [record for record in records if record["source"].endswith("shanghai-news.txt")]
    assert len(english) == 6
    assert {record["language"] for record in english} == {"en"}
    first = english[0]
    assert first["published"] == "2024-05-24T11:48:00+08:00"
    assert "g60" in first["topics"]


def test_the_chinese_sample_is_summarised_in_chinese(capsys):
    records = json.loads(preview(capsys, "--json")[1])
    chinese = [r for r in records if r["source"].endswith("shanghai-news-zh.txt")]
    assert len(chinese) == 5
    text = Path("config/samples/shanghai-news-zh.txt").read_text(encoding="utf-8")
    for record in chinese:
        assert record["language"] == "zh"
        assert len(record["bullets"]) == 3
        for bullet in record["bullets"]:
            assert bullet in text  # a whole sentence of the article, not a fragment
            assert bullet.endswith(("。", "！", "？", "”"))
            assert "。" not in bullet[:-1]  # one sentence
        assert all(1 < len(keyword) <= 4 for keyword in record["keywords"])
    topics = {record["title"][:6]: record["topics"] for record in chinese}
    assert topics["松江建成跨区"][0] == "quantum"
    assert topics["徐汇滨江美术"] == ["culture"]
    assert topics["张江药企抗体"] == ["biomedicine"]
    assert topics["临港卫星工厂"] == ["satellite"]
    assert topics["静安老小区完"] == ["governance"]


def test_text_preview_is_readable(capsys):
    status, out, _ = preview(capsys)
    assert status == 0
    assert "  • " in out
    assert out.rstrip().endswith("11 articles.")


def test_topic_bullets_and_algorithm_options(capsys, tmp_path):
    status, out, _ = preview(
        capsys, "--json", "--topic", "culture", "--bullets", "2", "--algorithm", "lead"
    )
    assert status == 0
    records = json.loads(out)
    assert records and all("culture" in record["topics"] for record in records)
    assert all(len(record["bullets"]) <= 2 for record in records)
    assert all(record["algorithm"] == "lead" for record in records)


def test_source_folder_of_text_and_markdown(capsys, caplog, tmp_path):
    (tmp_path / "a.md").write_text(
        "# Quantum link opens\n\nThe quantum link opened today. It joins two cities.\n"
        "Engineers worked for two years on it.\n",
        encoding="utf-8",
    )
    (tmp_path / "empty.txt").write_text("Just a title\n", encoding="utf-8")
    status, out, _ = preview(capsys, "--json", "--source", str(tmp_path))
    assert status == 0
    records = json.loads(out)
    assert [record["title"] for record in records] == ["Quantum link opens"]
    # the article with no text is named with the reason, not silently dropped
    assert "empty.txt: article 'Just a title' has no text; skipped" in caplog.text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "/no/such/place"], "--source /no/such/place: no such file or folder"),
        (["--topic", "astrology"], "unknown topic 'astrology'"),
        (["--algorithm", "magic"], "unknown algorithm 'magic'"),
        (["--bullets", "11"], "--bullets must be from 1 to 10"),
    ],
)
def test_bad_options_exit_non_zero_with_one_clear_line(capsys, args, message):
    status, out, err = preview(capsys, *args)
    assert status == 2
    assert out == ""
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err


def test_bad_yaml_names_the_file_and_line(capsys, tmp_path):
    config = tmp_path / "broken.yaml"
    config.write_text("summariser:\n  bullets: [3\n", encoding="utf-8")
    status, _, err = preview(capsys, "--config", str(config))
    assert status == 2
    assert str(config) in err and "line" in err and "invalid YAML" in err


def test_config_may_be_given_before_or_after_the_command(capsys, tmp_path):
    config = tmp_path / "one-bullet.yaml"
    sample = Path(__file__).resolve().parents[2] / "config" / "samples" / "shanghai-news.txt"
    config.write_text(
        f"summariser:\n  bullets: 1\nsources:\n  - name: s\n    location: {sample}\n",
        encoding="utf-8",
    )
    for argv in (
        ["--config", str(config), "preview", "--json"],
        ["preview", "--json", "--config", str(config)],
    ):
        assert main(argv) == 0
        records = json.loads(capsys.readouterr().out)
        assert len(records) == 6 and all(len(r["bullets"]) == 1 for r in records)


def test_text_preview_wraps_chinese_bullets_by_their_width(capsys):
    out = preview(capsys)[1]
    chinese_lines = [line for line in out.splitlines() if "。" in line or "，" in line]
    assert chinese_lines
    assert all(len(line) <= 4 + 48 for line in chinese_lines)
