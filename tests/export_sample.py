"""A realistic export of another CRM, for the moving-in tests and benchmark: deals as a
Salesforce-style opportunity report (won, lost and open; missing close dates and values where
open deals have none) and their activities (calls, meetings, e-mails, notes)."""

from __future__ import annotations

import datetime as dt
import random

import pandas as pd

OWNERS = ("Jan Kowalski", "Anna Nowak", "piotr.zielinski@example.com", "Maria Wiśniewska")
PRODUCTS = ("Laptop Pro 14", "Docking station", "Support 24/7", "Monitor 27", "Licence pack")
OPEN_STAGES = ("Prospecting", "Qualified", "Proposal", "Negotiation")
ACTIVITY_TYPES = ("Call", "Meeting", "Email", "Note")
LOST_REASONS = ("Price", "Competitor", "No budget", "")


DATED_STAGES = ("Qualified", "Proposal", "Negotiation")  # HubSpot-style "Date entered" columns


def entered_column(stage: str) -> str:
    return f'Date entered "{stage} (Sales Pipeline)"'


def make_export(
    seed: int, deals: int, activities: int, today: dt.date, *, days: int = 365, stage_dates: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`stage_dates`: each deal also says when it entered each stage it went through (an open
    deal is in the last of them), as HubSpot exports "Date entered" columns."""
    rng = random.Random(seed)
    accounts = [f"Client {i:04d} sp. z o.o." for i in range(max(5, deals // 4))]
    rows = []
    for i in range(deals):
        created = today - dt.timedelta(days=rng.randint(30, days))
        kind = rng.choices(("won", "lost", "open"), (35, 35, 30))[0]
        amount = f"{rng.randint(5, 2000) * 50}.{rng.choice(('00', '50', '99'))}"
        close = created + dt.timedelta(days=rng.randint(0, 90))
        if kind != "open":
            close = min(close, today - dt.timedelta(days=1))
        row = {
            "Opportunity ID": f"006{i:07d}",
            "Opportunity Name": f"Deal {i}",
            "Account Name": rng.choice(accounts),
            "Opportunity Owner": rng.choice(OWNERS),
            "Stage": {"won": "Closed Won", "lost": "Closed Lost"}.get(kind) or rng.choice(OPEN_STAGES),
            "Created Date": created.isoformat(),
            "Close Date": close.isoformat(),
            "Amount": amount,
            "Currency": "PLN",
            "Product": rng.choice(PRODUCTS),
            "Quantity": str(rng.randint(1, 20)),
            "Lost Reason": rng.choice(LOST_REASONS) if kind == "lost" else "",
        }
        if stage_dates:
            depth = OPEN_STAGES.index(row["Stage"]) if kind == "open" else rng.randint(0, 3)
            end = today - dt.timedelta(days=1) if kind == "open" else close  # never in the future
            offsets = sorted(rng.randint(0, (end - created).days) for _ in range(depth))
            for stage, offset in zip(DATED_STAGES, offsets, strict=False):
                row[entered_column(stage)] = (created + dt.timedelta(days=offset)).isoformat()
            for stage in DATED_STAGES[depth:]:
                row[entered_column(stage)] = ""
        if kind == "open" and rng.random() < 0.3:
            row["Amount"] = ""  # an open deal not valued yet
        if kind == "open" and rng.random() < 0.3:
            row["Close Date"] = ""
        rows.append(row)
    deal_frame = pd.DataFrame(rows, dtype=str)
    acts = []
    for j in range(activities):
        deal = rows[rng.randrange(deals)]
        created = dt.date.fromisoformat(deal["Created Date"])
        when = created + dt.timedelta(days=rng.randint(0, 60), hours=rng.randint(8, 17))
        when = min(when, today - dt.timedelta(days=1))
        acts.append(
            {
                "Activity ID": f"00T{j:07d}",
                "Opportunity ID": deal["Opportunity ID"],
                "Type": rng.choice(ACTIVITY_TYPES),
                "Date": f"{when:%Y-%m-%d} {rng.randint(8, 16):02d}:{rng.choice((0, 15, 30, 45)):02d}",
                "Duration": str(rng.choice((10, 15, 30, 60))),
                "Subject": f"Follow-up {j}",
                "Description": "Talked about the offer; they will call back.",
                "Assigned To": deal["Opportunity Owner"],
            }
        )
    return deal_frame, pd.DataFrame(acts, dtype=str)
