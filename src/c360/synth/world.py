"""``generate_world``: people → source records → behaviour → landing files + truth."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import asdict
from importlib import resources
from pathlib import Path

import numpy as np
import polars as pl

from c360.synth import bank_sources, behaviour, contact, engagement, marketing_sources, writers
from c360.synth.options import SynthOptions, WorldSummary
from c360.synth.people import SYSTEMS, generate_people
from c360.synth.source_data import SourceData

Progress = Callable[[str, int, int], None]

#: source → file format, in write order.
SOURCES = {
    "core_customers": "csv",
    "core_accounts": "csv",
    "core_balances": "csv",
    "card_holders": "csv",
    "card_transactions": "csv",
    "loan_borrowers": "jsonl",
    "policy_holders": "parquet",
    "crm_contacts": "csv",
    "email_subscribers": "csv",
    "email_events": "jsonl",
    "sms_consent": "csv",
    "cc_transcripts": "jsonl",
    "digital_logins": "csv",
}
#: Sources whose records are people (covered by ``truth/identity.csv``).
PERSON_SOURCES = (
    "core_customers",
    "card_holders",
    "loan_borrowers",
    "policy_holders",
    "crm_contacts",
    "email_subscribers",
)
_README = """# Ground truth of a synthetic c360 world

Never copy these files into landing: they are the answers.

- `identity.csv` — `source,source_key,person_id` for every record of a person-bearing
  source ({person_sources}). Records with the same person_id are the same real person.
- `records.csv` — the same keys plus what the generator did to each record: `nickname`,
  `maiden_name`, `old_address` (pre-move address), `typo_fields` (count of name/street/
  email fields with a character edit), `placeholder_email`, `placeholder_phone`,
  `dob_swapped` (day/month swapped), `ssn_transposed` (adjacent digits), `ssn_missing`,
  `sparse` (few fields), `shared_email` (a couple's shared address), `duplicate` (a second
  record of the person in the same system).
- `people.csv` — one row per real person: true names (`maiden_name` if recently married,
  `suffix` JR/SR), `dob`, `sex`, `ssn`, `household_id`, `role`, `twin_of`, true current
  address and old one (`moved`, `move_date`), phones, e-mails, membership `in_<system>`,
  `n_systems`, `is_minor`, `is_senior`; behaviour: `churn_propensity` (latent),
  `churned`, `churn_date` (all accounts closed that day; balances dip and logins fall in
  the 30 days before), `digital_enrolled`, `deposit_balance` (typical, before dips),
  `segment`, `p_control`/`p_treated` (offer response probability without/with the
  offer) and `true_uplift`.
- `uplift.csv` — `segment,definition,base_rate,true_uplift,people`.
- `options.json` — the options and effective (post `hard`) rates that made this world.
"""


def _contracts_dir() -> Path:
    return Path(str(resources.files("c360.synth").joinpath("contracts")))


def generate_world(
    landing: Path,
    truth: Path,
    contracts: Path | None,
    options: SynthOptions,
    progress: Progress | None = None,
) -> WorldSummary:
    """Generate the bank world: landing files per source and day, truth, contracts.

    Deterministic: the same ``options`` give byte-identical files. Each stage draws
    from its own generator seeded by ``(seed, stage)`` so tuning one stage does not
    reshuffle the others.
    """
    landing, truth = Path(landing), Path(truth)
    opts = options
    stages = [
        "people",
        *PERSON_SOURCES,
        "behaviour",
        "events",
        "write",
        "truth",
    ]
    done = 0

    def step(name: str) -> np.random.Generator:
        nonlocal done
        if progress:
            progress(f"synth:{name}", done, len(stages))
        done += 1
        return np.random.default_rng([opts.seed, stages.index(name)])

    people = generate_people(opts, step("people"))
    ids = people["person_id"].to_numpy()
    core = bank_sources.core_customers(people, opts, step("core_customers"), ids)
    card = bank_sources.card_holders(people, opts, step("card_holders"), ids)
    loan = bank_sources.loan_borrowers(people, opts, step("loan_borrowers"), ids, core)
    policy = bank_sources.policy_holders(people, opts, step("policy_holders"), ids)
    crm = marketing_sources.crm_contacts(people, opts, step("crm_contacts"), ids, core)
    esp = marketing_sources.email_subscribers(people, opts, step("email_subscribers"), ids)

    rng = step("behaviour")
    ch = behaviour.churn(people, core, opts, rng)
    acc = behaviour.accounts(core, ch, opts, rng)
    logins, enrolled = behaviour.logins(core, people, ch, opts, rng)
    seg = behaviour.segments(people, acc, ch, enrolled, rng)

    step("events")
    # event streams are built and written one at a time, each from its own generator,
    # so memory holds one big table at most
    builders: dict[str, Callable[[np.random.Generator], pl.DataFrame]] = {
        "core_customers": lambda r: core.frame,
        "core_accounts": lambda r: acc.frame,
        "core_balances": lambda r: behaviour.balances(acc, ch, opts, r),
        "card_holders": lambda r: card.frame,
        "card_transactions": lambda r: engagement.card_transactions(card, ch, opts, r),
        "loan_borrowers": lambda r: loan.frame,
        "policy_holders": lambda r: policy.frame,
        "crm_contacts": lambda r: crm.frame,
        "email_subscribers": lambda r: esp.frame,
        "email_events": lambda r: engagement.email_events(esp, opts, r),
        "sms_consent": lambda r: contact.sms_consent(people, opts, r),
        "cc_transcripts": lambda r: contact.cc_transcripts(people, card, ch, opts, r),
        "digital_logins": lambda r: logins,
    }

    step("write")
    summary = WorldSummary(people=people.height, rates=opts.effective_rates())
    dirty: list[dict[str, object]] = []
    for i, (source, kind) in enumerate(SOURCES.items()):
        if progress:
            progress(f"synth:write {source}", len(stages) - 2, len(stages))
        frame = builders[source](np.random.default_rng([opts.seed, 100 + i]))
        if source in behaviour.SHIFTED:
            frame = behaviour.shift(frame, opts, np.random.default_rng([opts.seed, 300 + i]))
        files, rows, bad = writers.write_source(
            frame,
            source,
            kind,
            landing,
            opts.start_date,
            opts.days,
            dirty_rate=opts.dirty_row_rate,
            rng=np.random.default_rng([opts.seed, 200 + i]),
        )
        dirty += bad
        del frame
        summary.files += files
        summary.records[source] = rows

    step("truth")
    person_data = {
        "core_customers": core,
        "card_holders": card,
        "loan_borrowers": loan,
        "policy_holders": policy,
        "crm_contacts": crm,
        "email_subscribers": esp,
    }
    summary.truth = _write_truth(truth, people, person_data, ch, seg, enrolled, opts)
    summary.truth["dirty_rows"] = truth / "dirty_rows.csv"
    pl.DataFrame(
        dirty, schema={"source": pl.String, "file": pl.String, "line": pl.Int64, "kind": pl.String}
    ).write_csv(summary.truth["dirty_rows"])
    if contracts is not None:
        contracts = Path(contracts)
        contracts.mkdir(parents=True, exist_ok=True)
        for src in sorted(_contracts_dir().glob("*.yaml")):
            shutil.copyfile(src, contracts / src.name)
            summary.contracts.append(contracts / src.name)
    if progress:
        progress("synth:done", len(stages), len(stages))
    return summary


def _write_truth(
    truth: Path,
    people: pl.DataFrame,
    data: dict[str, SourceData],
    ch: dict[str, np.ndarray],
    seg: dict[str, np.ndarray],
    enrolled: np.ndarray,
    opts: SynthOptions,
) -> dict[str, Path]:
    truth.mkdir(parents=True, exist_ok=True)
    flags = pl.concat([d.flags for d in data.values()])
    paths = {name: truth / f"{name}.csv" for name in ("identity", "records", "people", "uplift")}
    flags.select("source", "source_key", "person_id").write_csv(paths["identity"])
    flags.write_csv(paths["records"])
    start = np.datetime64(opts.start_date, "D")
    churn_date = start + np.minimum(ch["churn_day"], 10**4).astype("timedelta64[D]")
    move_date = start + people["move_day"].to_numpy().astype("timedelta64[D]")
    out = (
        people.with_columns(
            move_date=pl.when(pl.col("moved")).then(pl.Series(move_date)).otherwise(None),
            churn_propensity=pl.Series(np.round(ch["propensity"], 4)),
            churned=pl.Series(ch["churned"]),
            churn_date=pl.when(pl.Series(ch["churned"]))
            .then(pl.Series(churn_date))
            .otherwise(None),
            digital_enrolled=pl.Series(enrolled),
            deposit_balance=pl.Series(seg["deposit_balance"]),
            segment=pl.Series(seg["segment"].tolist(), dtype=pl.String),
            p_control=pl.Series(seg["p_control"]),
            p_treated=pl.Series(seg["p_treated"]),
        )
        .with_columns(true_uplift=(pl.col("p_treated") - pl.col("p_control")).round(4))
        .drop("move_day")
    )
    writers.public(out).write_csv(paths["people"])
    counts = dict(zip(*np.unique(seg["segment"].astype(str), return_counts=True), strict=True))
    pl.DataFrame(
        {
            "segment": list(behaviour.SEGMENTS),
            "definition": [v[0] for v in behaviour.SEGMENTS.values()],
            "base_rate": [v[1] for v in behaviour.SEGMENTS.values()],
            "true_uplift": [v[2] for v in behaviour.SEGMENTS.values()],
            "people": [int(counts.get(s, 0)) for s in behaviour.SEGMENTS],
        }
    ).write_csv(paths["uplift"])
    readme = truth / "README.md"
    readme.write_text(_README.format(person_sources=", ".join(PERSON_SOURCES)), encoding="utf-8")
    meta = asdict(opts) | {
        "start_date": opts.start_date.isoformat(),
        "effective_rates": opts.effective_rates(),
        "systems": list(SYSTEMS),
    }
    (truth / "options.json").write_text(
        json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    return {**paths, "readme": readme, "options": truth / "options.json"}
