"""The governed read path: masking by role × purpose × class, row filters, refusals."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from c360.errors import C360Error
from c360.governance.policy import Principal
from c360.settings.governance import RESTRICTED_ROLES, load_settings
from c360.workspace import Workspace
from tests.governance.conftest import PEOPLE

ATTRS = {"region": "west"}


def _cells(table: pa.Table) -> list[str]:
    out: list[str] = []
    for col in table.columns:
        for v in col.to_pylist():
            if isinstance(v, list):
                out += [str(x) for x in v]
            elif v is not None:
                out.append(str(v))
    return out


def test_no_leaks_for_any_role_purpose_table(loaded: Workspace) -> None:
    gov = loaded.governance
    lh = loaded.lakehouse
    raw_ssn = {p["ssn"] for p in PEOPLE} | {p["ssn"].replace("-", "") for p in PEOPLE}
    raw_pan = {p["pan"] for p in PEOPLE}
    tables = [(i.zone, i.name) for i in lh.tables(count_rows=False)]
    checked = leaks = 0
    for role_name, role in gov.settings.roles.items():
        for purpose in role.purposes:
            who = Principal(f"{role_name}-user", role_name, attributes=ATTRS)
            for zone, name in tables:
                if zone not in role.zones:
                    with pytest.raises(C360Error) as err:
                        gov.read(who, zone, name, purpose)
                    assert err.value.code == "governance.zone_denied"
                    continue
                plan = gov.plan(who, zone, name, purpose)
                out = gov.read(who, zone, name, purpose)
                cells = _cells(out)
                raw = lh.read(zone, name)
                for col, rule in plan.rules.items():
                    if rule == "clear":
                        continue
                    for v in _cells(raw.select([col])):
                        if len(v) < 5:  # last-4 digits and years are not identifying alone
                            continue
                        checked += 1
                        leaks += sum(1 for c in cells if v in c)
                if zone != "restricted":
                    assert not raw_ssn & set(cells) and not raw_pan & set(cells)
    assert checked > 200
    assert leaks == 0


def test_raw_ssn_and_pan_only_in_restricted_and_only_for_privacy_roles(loaded: Workspace) -> None:
    gov = loaded.governance
    for role_name, role in gov.settings.roles.items():
        who = Principal("u", role_name, attributes=ATTRS)
        if role_name in RESTRICTED_ROLES:
            out = gov.read(who, "restricted", "crm", role.purposes[0])
            assert set(out["ssn"].to_pylist()) == {p["ssn"] for p in PEOPLE}
        else:
            with pytest.raises(C360Error, match="may not read zone"):
                gov.read(who, "restricted", "crm", role.purposes[0])


def test_rules_apply_per_class_and_purpose(loaded: Workspace) -> None:
    gov = loaded.governance
    mk = Principal("mia", "marketing")
    out = gov.read(
        mk,
        "silver",
        "crm",
        "marketing",
        columns=["email", "dob", "ssn_token", "balance", "logins_30d"],
    )
    row = out.to_pylist()[0]
    assert row == {
        "email": "****",
        "dob": 1980,
        "ssn_token": None,
        "balance": None,
        "logins_30d": 12,
    }
    hashed = gov.read(mk, "silver", "crm", "analytics", columns=["email"])["email"].to_pylist()
    assert hashed[0] == loaded.tokenizer.keyed_hash(
        PEOPLE[0]["email"]
    )  # keyed hash: joinable, not raw
    agent = gov.read(
        Principal("al", "agent", attributes={"region": "west"}), "silver", "crm", "service"
    )
    assert agent["ssn_last4"].to_pylist() == ["6789", "4444"]
    assert agent["ssn_variants"].to_pylist() == [None, None]  # nested columns are clear or null


def test_row_filter_limits_agent_to_region_and_fails_closed(loaded: Workspace) -> None:
    gov = loaded.governance
    west = gov.read(
        Principal("al", "agent", attributes={"region": "west"}),
        "gold",
        "golden_customers",
        "service",
    )
    assert sorted(west["golden_id"].to_pylist()) == ["G1", "G3"]
    nowhere = gov.read(Principal("al", "agent"), "gold", "golden_customers", "service")
    assert nowhere.num_rows == 0


def test_purpose_is_required_and_checked(loaded: Workspace) -> None:
    gov = loaded.governance
    who = Principal("mia", "marketing")
    for purpose in (None, ""):
        with pytest.raises(C360Error) as err:
            gov.read(who, "silver", "crm", purpose)
        assert err.value.code == "governance.purpose_required"
    with pytest.raises(C360Error) as err:
        gov.read(who, "silver", "crm", "service")
    assert err.value.code == "governance.purpose_not_allowed"
    with pytest.raises(C360Error) as err:
        gov.read(Principal("x", "wizard"), "silver", "crm", "marketing")
    assert err.value.code == "governance.unknown_role"
    limited = Principal("mia", "marketing", purposes=("analytics",))
    with pytest.raises(C360Error, match="not allowed purpose"):
        gov.read(limited, "silver", "crm", "marketing")


def test_filters_only_on_clear_columns(loaded: Workspace) -> None:
    gov = loaded.governance
    agent = Principal("al", "agent", attributes={"region": "west"})
    got = gov.read(agent, "silver", "crm", "service", where={"email": PEOPLE[2]["email"]})
    assert got["customer_id"].to_pylist() == ["C003"]
    with pytest.raises(C360Error) as err:  # marketing must not probe raw emails through a filter
        gov.read(
            Principal("mia", "marketing"),
            "silver",
            "crm",
            "marketing",
            where={"email": PEOPLE[0]["email"]},
        )
    assert err.value.code == "governance.filter_on_masked"


def test_every_read_and_refusal_is_audited(loaded: Workspace) -> None:
    gov = loaded.governance
    gov.read(Principal("mia", "marketing"), "silver", "crm", "marketing", columns=["email"])
    with pytest.raises(C360Error):
        gov.read(Principal("mia", "marketing"), "silver", "crm", None)
    reads = loaded.audit.query(actor="mia")
    assert [e.action for e in reads] == ["read", "read.denied"]
    assert reads[0].details == {
        "role": "marketing",
        "purpose": "marketing",
        "columns": ["email"],
        "rules": {"email": "mask"},
        "filters": [],
        "rows": 3,
        "consent_withheld": 0,  # marketing reads pass the consent gate's set form
    }


def test_unclassified_columns_fail_closed(loaded: Workspace) -> None:
    from deltalake import write_deltalake

    # c360's writer refuses an undeclared table; one another tool put there is governed as pii
    write_deltalake(
        str(loaded.lakehouse.path("gold", "mystery")),
        pa.table({"golden_id": ["G1"], "zzz_notes": ["secret stuff"]}),
    )
    cat = loaded.governance.catalogue(["gold.mystery"])
    assert cat.column("gold", "mystery", "zzz_notes").pii_class == "unclassified"
    out = loaded.governance.read(Principal("d", "data_scientist"), "gold", "mystery", "analytics")
    assert out["zzz_notes"].to_pylist() != ["secret stuff"]


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (
            {
                "roles": {
                    "x": {"purposes": ["marketing"], "zones": ["gold"], "rules": {"piii": "clear"}}
                }
            },
            "piii",
        ),
        ({"roles": {"x": {"purposes": ["telepathy"], "zones": ["gold"]}}}, "telepathy"),
        (
            {
                "roles": {
                    "x": {"purposes": ["marketing"], "zones": ["gold"], "rules": {"pii": "blur"}}
                }
            },
            "blur",
        ),
        ({"roles": {"x": {"purposes": ["marketing"], "zones": ["attic"]}}}, "attic"),
        (
            {"roles": {"marketing": {"purposes": ["marketing"], "zones": ["restricted"]}}},
            "restricted",
        ),
        ({"roles": {"x": {"purposes": ["marketing"], "zones": ["gold"], "colour": 1}}}, "colour"),
        ({"classes": {"gold.t": {"c": "secret"}}}, "secret"),
        ({"roles": {"x": {"purposes": [], "zones": ["gold"]}}}, "at least one purpose"),
    ],
)
def test_bad_policy_is_an_error_naming_it(raw: dict, needle: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(C360Error) as err:
        load_settings(raw)
    assert err.value.code == "governance.invalid_policy"
    assert needle in err.value.message


def test_bad_policy_in_workspace_config_fails_at_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("C360_TOKEN_KEY", "k" * 40)
    (tmp_path / "c360.yaml").write_text(
        "governance:\n  roles:\n    agent: {purposes: [service], zones: [gold], rules: {pci: clear}}\n"
    )
    with pytest.raises(C360Error, match="unknown class 'pci'"):
        _ = Workspace.open(tmp_path).governance


def test_catalogue_classes_tokens_gold_and_findings(loaded: Workspace) -> None:
    from c360.store.schema import pii_findings

    with loaded.store.begin() as conn:
        conn.execute(
            pii_findings.insert().values(
                batch_id="B-crm-1",
                source="crm",
                column_name="region",
                kind="email",
                declared="none",
                rows=1,
                redacted=0,
            )
        )
    cat = loaded.governance.catalogue()
    crm = cat.table("silver", "crm")
    assert crm is not None and crm.owner == "crm-team"
    classes = {c: i.pii_class for c, i in crm.columns.items()}
    assert (
        classes["ssn_token"] == classes["ssn_last4"] == classes["ssn_variants"] == "pii_sensitive"
    )
    assert classes["dob"] == "pii_sensitive" and classes["balance"] == "financial"
    assert classes["_batch_id"] == "none" and classes["logins_30d"] == "behavioural"
    assert classes["region"] == "pii" and crm.columns["region"].findings == ("email",)
    assert cat.column("silver", "cards", "pan_token").pii_class == "pci_adjacent"
    assert cat.column("gold", "golden_customers", "email").origin == "declared"
    loaded.governance.declare(
        "gold.golden_customers",
        {"region": "behavioural"},
        owner="identity-team",
        declared_by="identity",
    )
    g = loaded.governance.catalogue(["gold.golden_customers"]).table("gold", "golden_customers")
    assert (
        g is not None
        and g.columns["region"].pii_class == "behavioural"
        and g.owner == "identity-team"
    )
    with pytest.raises(C360Error, match="unknown class"):
        loaded.governance.declare("gold.x", {"a": "sekret"})
