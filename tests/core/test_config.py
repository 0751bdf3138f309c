"""c360.yaml and contracts: typos are errors naming key and file; env overrides."""

from __future__ import annotations

import pytest

from c360 import C360Error, load_config, load_contract


def test_unknown_key_names_key_and_file(tmp_path):
    (tmp_path / "c360.yaml").write_text("ingest:\n  landng: x\n")
    with pytest.raises(C360Error) as exc:
        load_config(tmp_path, environ={})
    assert exc.value.code == "config.invalid"
    assert exc.value.message == f"{tmp_path / 'c360.yaml'}: unknown key 'ingest.landng'"


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
    with pytest.raises(C360Error, match=r"unknown key 'columns.0.typ'"):
        load_contract(f)
    f.write_text("source: x\nkey: [id]\ncolumns:\n  - {name: id}\nidentity: {dob: birth}\n")
    with pytest.raises(
        C360Error, match="identity maps to column 'birth', which the contract does not declare"
    ):
        load_contract(f)


def test_scaffolded_config_loads_and_documents_every_setting(tmp_path):
    from c360.config import Config
    from c360.scaffold import render_config
    from c360.workspace import Workspace

    ws = Workspace.init(tmp_path / "w", template="empty")
    assert ws.config == Config()
    text = render_config()
    for section in ("lakehouse", "store", "security", "ingest", "identity"):
        assert f"\n{section}:" in text
    assert "# Match probability at or above which records link." in text


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
