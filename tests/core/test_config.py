"""c360.yaml and contracts: typos are errors naming key and file; env overrides."""

from __future__ import annotations

import pytest

from c360 import C360Error, load_config, load_contract


def test_unknown_key_names_key_and_file(tmp_path):
    (tmp_path / "c360.yaml").write_text("ingest:\n  landng: x\n")
    with pytest.raises(C360Error) as exc:
        load_config(tmp_path, environ={})
    assert exc.value.code == "config.invalid"
    assert exc.value.message == f"{tmp_path / 'c360.yaml'}: unknown key 'ingest.landng' (line 2)"


def test_misspelt_key_three_levels_deep_names_key_file_and_line(tmp_path):
    (tmp_path / "c360.yaml").write_text(
        "name: bank\nidentity:\n  seed: 7\n  thresholds:\n    review: 0.7\n    auto_lnk: 0.95\n"
    )
    with pytest.raises(C360Error) as exc:
        load_config(tmp_path, environ={})
    msg = exc.value.message
    assert exc.value.code == "config.invalid"
    assert msg.startswith(str(tmp_path / "c360.yaml"))
    assert "unknown key 'identity.thresholds.auto_lnk' (line 6)" in msg


@pytest.mark.parametrize(
    ("yaml_text", "key", "line"),
    [
        (
            "consent:\n  policy:\n    contact:\n      quiet_hours:\n        strat: '22:00'\n",
            "consent.policy.contact.quiet_hours.strat",
            5,
        ),
        ("governance:\n  lineage:\n    transprt: none\n", "governance.lineage.transprt", 3),
        ("consent:\n  capture:\n    - name: x\n      tabel: t\n", "consent.capture.0.tabel", 4),
    ],
)
def test_misspelt_keys_in_capability_blocks(tmp_path, yaml_text, key, line):
    (tmp_path / "c360.yaml").write_text(yaml_text)
    with pytest.raises(C360Error) as exc:
        load_config(tmp_path, environ={})
    assert f"unknown key '{key}' (line {line})" in exc.value.message


def test_nested_env_override_takes_effect_at_any_depth(tmp_path):
    (tmp_path / "c360.yaml").write_text(
        "identity:\n  thresholds: {auto_link: 0.99, review: 0.8}\n"
        "governance:\n  audit: {checkpoint_every: 10}\n"
    )
    cfg = load_config(
        tmp_path,
        environ={
            "C360_IDENTITY__THRESHOLDS__AUTO_LINK": "0.95",
            "C360_GOVERNANCE__LINEAGE__TRANSPORT": "none",
            "c360_consent__record_point_checks": "true",
        },
    )
    assert cfg.identity.thresholds.auto_link == 0.95
    assert cfg.identity.thresholds.review == 0.8  # the file's sibling key survives
    assert cfg.governance.audit.checkpoint_every == 10
    assert cfg.governance.lineage.transport == "none"
    assert cfg.consent.record_point_checks is True


def test_nested_env_override_reaches_the_running_workspace(tmp_path, monkeypatch):
    from c360.identity.pipeline import settings_of
    from c360.workspace import Workspace

    Workspace.init(tmp_path / "w", template="empty").close()
    monkeypatch.setenv("C360_IDENTITY__THRESHOLDS__AUTO_LINK", "0.93")
    monkeypatch.setenv("C360_IDENTITY__SEED", "7")
    ws = Workspace.open(tmp_path / "w")
    assert ws.config.identity.thresholds.auto_link == 0.93
    assert settings_of(ws).seed == 7
    ws.close()


def test_bad_env_value_names_the_variable(tmp_path):
    with pytest.raises(C360Error) as exc:
        load_config(tmp_path, environ={"C360_IDENTITY__THRESHOLDS__AUTO_LNK": "0.9"})
    assert "unknown key 'identity.thresholds.auto_lnk'" in exc.value.message
    assert "C360_IDENTITY__THRESHOLDS__AUTO_LNK" in exc.value.message
    with pytest.raises(C360Error, match="C360_INGEST__MIN_FILE_AGE_SECONDS"):
        load_config(tmp_path, environ={"C360_INGEST__MIN_FILE_AGE_SECONDS": "soon"})


def test_unrelated_c360_variables_are_not_settings(tmp_path):
    cfg = load_config(
        tmp_path,
        environ={"C360_TOKEN_KEY": "k" * 40, "C360_WORKSPACE": "/x", "C360_TEST_PG_URL": "y"},
    )
    from c360.config import Config

    assert cfg == Config.model_validate({})


def test_older_files_with_extensions_still_load(tmp_path, caplog):
    (tmp_path / "c360.yaml").write_text(
        "identity:\n  thresholds: {auto_link: 0.97}\n"
        "extensions:\n  identity:\n    seed: 9\n  governance:\n    audit: {checkpoint_every: 3}\n"
    )
    cfg = load_config(tmp_path, environ={})
    assert cfg.identity.thresholds.auto_link == 0.97 and cfg.identity.seed == 9
    assert cfg.governance.audit.checkpoint_every == 3
    assert "extensions.identity' is deprecated" in caplog.text
    # a typo inside a lifted block still names the line the file has it on
    (tmp_path / "c360.yaml").write_text("extensions:\n  consent:\n    polcy: {}\n")
    with pytest.raises(C360Error, match=r"unknown key 'consent.polcy' \(line 3\)"):
        load_config(tmp_path, environ={})
    (tmp_path / "c360.yaml").write_text("extensions:\n  featurs: {}\n")
    with pytest.raises(C360Error, match=r"unknown key 'extensions.featurs' \(line 2\)"):
        load_config(tmp_path, environ={})


def test_env_overrides(tmp_path):
    (tmp_path / "c360.yaml").write_text("store:\n  url: sqlite:///a.db\n")
    cfg = load_config(
        tmp_path,
        environ={"C360_STORE_URL": "sqlite:///b.db", "C360_INGEST__MIN_FILE_AGE_SECONDS": "30"},
    )
    assert cfg.store.url == "sqlite:///b.db"
    assert cfg.ingest.min_file_age_seconds == 30


def test_bad_yaml_is_a_clear_error(tmp_path):
    (tmp_path / "c360.yaml").write_text("ingest: [unclosed\n")
    with pytest.raises(C360Error, match="not valid YAML"):
        load_config(tmp_path, environ={})


def test_contract_errors(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text("source: x\nkey: [id]\ncolumns:\n  - {name: idd}\n")
    with pytest.raises(
        C360Error, match=r"x.yaml: '': Value error, key column 'id' is not a declared column"
    ):
        load_contract(f)
    f.write_text("source: x\nkey: [id]\ncolumns:\n  - {name: id, typ: int}\n")
    with pytest.raises(C360Error, match=r"unknown key 'columns.0.typ' \(line 4\)"):
        load_contract(f)
    f.write_text("source: x\nkey: [id]\ncolumns:\n  - {name: id}\nidentity: {dob: birth}\n")
    with pytest.raises(
        C360Error, match="identity maps to column 'birth', which the contract does not declare"
    ):
        load_contract(f)


def test_scaffolded_config_loads_and_documents_every_setting(tmp_path, monkeypatch):
    from c360.config import Config
    from c360.scaffold import render_config
    from c360.workspace import Workspace

    monkeypatch.delenv("C360_INGEST__SETTLE_SECONDS")  # tests/conftest.py sets it to 0
    ws = Workspace.init(tmp_path / "w", template="empty")
    assert ws.config == Config()
    text = render_config()
    for section in Config.model_fields:
        if section != "name":
            assert f"\n{section}:" in text
    assert "# Match probability at or above which records link." in text
    ignored = (ws.root / ".gitignore").read_text().split()
    for folder in ("landing/", "models/", "lakehouse/", "store/", ".c360/"):
        assert folder in ignored


def test_reference_documents_every_key_with_a_meaning():
    from c360.scaffold import render_reference

    rows = [r for r in render_reference().splitlines() if r.startswith("| `")]
    assert len(rows) > 150
    empty = [r.split("|")[1].strip() for r in rows if r.rstrip().endswith("|  |")]
    assert empty == [], f"keys without a description: {empty}"
    keys = {r.split("|")[1].strip().strip("`") for r in rows}
    for key in (
        "identity.thresholds.auto_link",
        "consent.capture[].subject",
        "consent.policy.contact.quiet_hours.start",
        "governance.roles.<name>.row_filters[].attribute",
        "columns[].pii",
    ):
        assert key in keys


def test_reference_doc_is_current():
    from pathlib import Path

    from c360.scaffold import render_reference

    doc = Path(__file__).parents[2] / "docs" / "reference" / "configuration.md"
    assert doc.read_text() == render_reference(), "run `make docs` to regenerate the reference"


def test_ssn_and_tin_share_one_token_space():
    from c360.tokens import Tokenizer

    tk = Tokenizer(b"k" * 32)
    assert tk.token("tin", "123456789") == tk.token("ssn", "123-45-6789")
    assert tk.token("pan", "123456789") != tk.token("ssn", "123456789")
    assert tk.transposition_tokens("tin", "123456789") == tk.transposition_tokens(
        "ssn", "123-45-6789"
    )
