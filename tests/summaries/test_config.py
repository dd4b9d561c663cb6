from pathlib import Path

import pytest

from summaries.config import DEFAULT_CONFIG_PATH, ConfigError, load_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_configuration_loads_with_sample_source_and_topics():
    config = load_config(DEFAULT_CONFIG_PATH)
    assert [source.name for source in config.sources] == ["shanghai-sample", "shanghai-sample-zh"]
    assert all(Path(source.location).is_file() for source in config.sources)
    assert [source.language for source in config.sources] == ["en", "zh"]
    names = {topic.name for topic in config.topics}
    assert {
        "quantum",
        "satellite",
        "biomedicine",
        "ai",
        "culture",
        "governance",
        "trade",
        "g60",
    } <= names
    assert config.summariser.bullets == 3


def test_relative_source_paths_resolve_against_the_config_file(tmp_path):
    (tmp_path / "news").mkdir()
    config = load_config(write(tmp_path, "sources:\n  - name: local\n    location: news\n"))
    assert config.sources[0].location == str((tmp_path / "news").resolve())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("summariser:\n  bullets: 12\n", "line 2: summariser.bullets: must be from 1 to 10"),
        ("summariser:\n  algorithm: magic\n", "line 2: summariser.algorithm: unknown algorithm"),
        ("summariser:\n  bulets: 3\n", "line 2: summariser.bulets: unknown key"),
        ("topics:\n  - name: Bad Name\n    keywords: [x]\n", "line 2: topics[0].name: a topic"),
        ("topics:\n  - name: ok\n    keywords: []\n", "line 3: topics[0].keywords: a topic needs"),
        ("sources:\n  - location: x\n", "line 2: sources[0].name: this key is required"),
        (
            "sources:\n  - name: a\n    location: x\n    timezone: Mars/Base\n",
            "line 4: sources[0].timezone: unknown timezone",
        ),
        (
            "sources:\n  - name: a\n    location: x\n    language: klingon\n",
            "line 4: sources[0].language: unknown or unsupported language 'klingon'; use auto",
        ),
        ("summariser: [1, 2\n", "invalid YAML"),
        ("summariser:\n  bullets: yes\n", "expected a whole number"),
    ],
)
def test_bad_configuration_names_file_key_and_line(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert str(path) in str(caught.value)
    assert expected in str(caught.value)


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.yaml")


def test_duplicate_topic_names_are_refused(tmp_path):
    text = "topics:\n  - name: a\n    keywords: [x]\n  - name: a\n    keywords: [y]\n"
    with pytest.raises(ConfigError, match="line 4: topics\\[1\\].name: two topics"):
        load_config(write(tmp_path, text))


@pytest.mark.parametrize(
    ("value", "expected"), [("auto", None), ("zh-CN", "zh"), ("German", "de"), ('"no"', "no")]
)
def test_a_source_language_is_a_code_or_auto(tmp_path, value, expected):
    text = f"sources:\n  - name: a\n    location: x\n    language: {value}\n"
    assert load_config(write(tmp_path, text)).sources[0].language == expected


def test_a_source_without_language_is_detected(tmp_path):
    text = "sources:\n  - name: a\n    location: x\n"
    assert load_config(write(tmp_path, text)).sources[0].language is None
