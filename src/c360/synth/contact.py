"""SMS keyword replies and contact-centre calls (with free-text transcripts)."""

from __future__ import annotations

import numpy as np
import polars as pl

from c360.synth import fmt
from c360.synth.options import SynthOptions
from c360.synth.source_data import SourceData

TOPICS = (
    "balance_inquiry",
    "card_dispute",
    "address_change",
    "fraud_report",
    "loan_payoff",
    "rate_inquiry",
    "close_account",
)
_TOPIC_P = np.array([0.3, 0.18, 0.1, 0.08, 0.1, 0.14, 0.1])
_OPENERS = (
    "Thank you for calling, this is {agent}, how can I help you today?",
    "Good {part}, you've reached member services, my name is {agent}.",
    "Hi, thanks for holding, this is {agent}. What can I do for you?",
)
_ASKS = {
    "balance_inquiry": "Hi, I just wanted to check the balance on my checking account.",
    "card_dispute": "There's a charge on my card I don't recognise, about {amt} dollars.",
    "address_change": "I moved recently and need to update my address.",
    "fraud_report": "I think someone used my card, I got a text about a purchase I didn't make.",
    "loan_payoff": "Can you tell me the payoff amount on my loan?",
    "rate_inquiry": "What rate are you offering on CDs right now?",
    "close_account": "I'd like to close my accounts, I'm moving my money to another bank.",
}
_VERIFY = "Sure, I can help with that. Can I get your {what} to verify the account?"


def sms_consent(people: pl.DataFrame, opts: SynthOptions, rng: np.random.Generator) -> pl.DataFrame:
    """START/YES express opt-ins, STOP replies (some lowercase, some from numbers that
    never opted in) and HELP, in the SMS platform's own E.164 phone format."""
    mob = people["mobile"].to_numpy()
    known = (people["in_core"] | people["in_card"] | people["in_crm"]).to_numpy()
    cand = np.flatnonzero((mob != "") & known)
    n = len(cand)
    lo = -720
    opt = rng.random(n) < 0.25
    t_in = rng.integers(lo, opts.days + 1, n)
    stop = (opt & (rng.random(n) < 0.15)) | (~opt & (rng.random(n) < 0.02))
    t_stop = np.where(opt, t_in + rng.integers(1, 400, n), rng.integers(lo, opts.days + 1, n))
    stop &= t_stop <= opts.days
    helpk = opt & (rng.random(n) < 0.03)
    t_help = t_in + rng.integers(0, 30, n)
    helpk &= t_help <= opts.days
    ev = []
    for mask, t, kw in ((opt, t_in, None), (stop, t_stop, "STOP"), (helpk, t_help, "HELP")):
        i = np.flatnonzero(mask)
        if kw is None:
            words = np.where(rng.random(len(i)) < 0.7, "START", "YES").astype(object)
        else:
            words = np.full(len(i), kw, dtype=object)
            low = rng.random(len(i)) < 0.1
            words[low] = np.char.lower(words[low].astype(str)).astype(object)
            if kw == "STOP":
                words[rng.random(len(i)) < 0.05] = "Stop"
        ev.append(
            pl.DataFrame(
                {"i": i, "t": t[i], "keyword": words.tolist()},
                schema={"i": pl.Int64, "t": pl.Int64, "keyword": pl.String},
            )
        )
    df = pl.concat(ev)
    sec = fmt.day_seconds(opts.start_date, df["t"].to_numpy(), rng, (0, 24))
    phone = fmt.phone(mob[cand[df["i"].to_numpy()]], "e164")
    df = df.with_columns(
        _sec=pl.Series(sec),
        phone=pl.Series(phone.tolist(), dtype=pl.String),
        _day=pl.col("t").clip(0, None),
    ).sort(["_day", "_sec"], maintain_order=True)
    return df.select(
        message_id=pl.format("SM{}", (pl.int_range(pl.len()) + 1).cast(pl.String).str.zfill(10)),
        phone="phone",
        keyword="keyword",
        received_at=fmt.epoch_expr("_sec"),
        short_code=pl.lit("72345"),
        _day="_day",
    )


def _call_text(
    rng: np.random.Generator,
    topic: str,
    agent: str,
    name: str,
    ssn: str,
    pan: str,
    email: str,
    phone: str,
) -> str:
    parts = [
        _OPENERS[int(rng.integers(0, 3))].format(agent=agent, part="morning"),
        _ASKS[topic].format(amt=int(rng.integers(20, 900))),
    ]
    what = "full name and date of birth"
    if ssn and rng.random() < 0.12:
        parts += [
            _VERIFY.format(what="social security number"),
            f"Yeah it's {ssn[:3]} {ssn[3:5]} {ssn[5:]}."
            if rng.random() < 0.6
            else f"My social is {ssn}.",
        ]
    else:
        parts += [_VERIFY.format(what=what), f"It's {name}."]
    if pan and topic in ("card_dispute", "fraud_report") and rng.random() < 0.4:
        parts.append(f"The card number is {pan[:4]} {pan[4:8]} {pan[8:12]} {pan[12:]}.")
    if email and rng.random() < 0.2:
        parts.append(f"You can email me at {email}.")
    if phone and rng.random() < 0.15:
        parts.append(f"Best number to reach me is {phone[:3]}-{phone[3:6]}-{phone[6:]}.")
    if topic == "close_account":
        parts.append("I'm sorry to hear that. Is there anything we could do to keep your business?")
    parts.append("Okay, that's all taken care of. Anything else? No, thanks, bye.")
    return " ".join(parts)


def cc_transcripts(
    people: pl.DataFrame,
    card: SourceData,
    ch: dict[str, np.ndarray],
    opts: SynthOptions,
    rng: np.random.Generator,
) -> pl.DataFrame:
    """Calls from customers; churners call to close accounts in their last month."""
    who = np.flatnonzero((people["in_core"] | people["in_card"]).to_numpy())
    cday = ch["churn_day"][who]
    pan_of: dict[int, str] = {}
    for p, pan in zip(card.person, card.frame["pan"].to_list(), strict=False):
        pan_of.setdefault(int(p), pan.replace(" ", ""))
    rows = []
    for t in range(-opts.history_days, opts.days + 1):
        near = (cday - t > 0) & (cday - t <= 30)
        lam = opts.calls_per_customer_per_day * np.where(near, 8.0, 1.0) * (t < cday)
        i = who[np.repeat(np.arange(len(who)), rng.poisson(lam))]
        rows.append((i, np.full(len(i), t), near[np.searchsorted(who, i)]))
    idx = np.concatenate([r[0] for r in rows])
    tt = np.concatenate([r[1] for r in rows])
    closing = np.concatenate([r[2] for r in rows]) & (rng.random(len(idx)) < 0.7)
    m = len(idx)
    topic = np.array(TOPICS, dtype=object)[rng.choice(len(TOPICS), m, p=_TOPIC_P)]
    topic[closing] = "close_account"
    sec = fmt.day_seconds(opts.start_date, tt, rng, (8, 20))
    o = np.lexsort((sec, tt))
    idx, tt, sec, topic = idx[o], tt[o], sec[o], topic[o]
    cols = {
        c: people[c].to_numpy()
        for c in ("first_name", "last_name", "ssn", "email", "mobile", "home_phone")
    }
    agents = rng.integers(100, 180, m)
    caller = np.where(rng.random(m) < 0.6, cols["mobile"][idx], cols["home_phone"][idx])
    caller = np.where(rng.random(m) < 0.07, "", caller)  # withheld / unknown
    text = [
        _call_text(
            rng,
            topic[k],
            f"agent {agents[k]}",
            f"{cols['first_name'][p].title()} {cols['last_name'][p].title()}",
            cols["ssn"][p],
            pan_of.get(int(p), ""),
            cols["email"][p],
            cols["mobile"][p],
        )
        for k, p in enumerate(idx)
    ]
    return (
        pl.DataFrame(
            {
                "call_id": [f"CALL-{v:09d}" for v in range(1, m + 1)],
                "agent_id": [f"AG{a}" for a in agents],
                "caller_phone": fmt.phone(caller.astype(object), "e164").tolist(),
                "_sec": sec,
                "duration_s": np.round(rng.lognormal(5.6, 0.6, m)).astype(np.int64),
                "transcript": text,
                "topic": topic.tolist(),
                "_day": np.clip(tt, 0, None),
            }
        )
        .with_columns(started_at=fmt.epoch_expr("_sec", "%Y-%m-%dT%H:%M:%SZ"))
        .select(
            "call_id",
            "agent_id",
            "caller_phone",
            "started_at",
            "duration_s",
            "transcript",
            "topic",
            "_day",
        )
    )
