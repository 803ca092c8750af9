"""The synthetic operator's customer base (CRM): customers, subscriptions and plan history.

Everything is derived from the profile's seed, so regenerating gives the same base, and the
stream generator rebuilds the same subscriptions in memory without reading them back.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import dataclass, field

from faker import Faker

from ingestion.profiles import Profile
from ingestion.reference import ReferenceData

BILL_CYCLE_DAYS = (1, 8, 15, 22)
CONSUMER_PLANS = {"essential": 0.35, "smart": 0.35, "unlimited": 0.15, "data_only": 0.15}
BUSINESS_PLANS = {"business_pro": 0.6, "business_flex": 0.4}
TAX_REGIONS = {"FR": 0.95, "FR-DOM": 0.05}


@dataclass
class PlanPeriod:
    plan_id: str
    valid_from: dt.date
    valid_to: dt.date | None


@dataclass
class Subscription:
    subscription_id: str
    customer_id: str
    msisdn: str
    imsi: str
    imei: str
    activation_date: dt.date
    termination_date: dt.date | None
    plans: list[PlanPeriod] = field(default_factory=list)

    def active_on(self, day: dt.date) -> bool:
        return self.activation_date <= day and (self.termination_date is None or day < self.termination_date)

    @property
    def is_data_only(self) -> bool:
        return self.plans[0].plan_id == "data_only"


@dataclass
class Customer:
    customer_id: str
    segment: str
    bill_cycle_day: int
    tax_region: str


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def luhn_complete(digits: str) -> str:
    """Append the Luhn check digit (IMEIs carry one)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 0:
            d *= 2
            d -= 9 if d > 9 else 0
        total += d
    return digits + str((10 - total % 10) % 10)


def build_base(profile: Profile, ref: ReferenceData) -> tuple[list[Customer], list[Subscription]]:
    """Customers and subscriptions, without personal details (fast; used by the stream too)."""
    rng = random.Random(f"crm:{profile.seed}")
    n_subs = profile.subscribers
    n_customers = max(1, min(n_subs, round(n_subs * profile.customers_per_subscriber)))
    customers = []
    for i in range(n_customers):
        segment = "business" if rng.random() < profile.business_share else "consumer"
        customers.append(Customer(f"C{i + 1:07d}", segment, rng.choice(BILL_CYCLE_DAYS), _pick(rng, TAX_REGIONS)))
    owners = list(range(n_customers))
    business = [i for i, c in enumerate(customers) if c.segment == "business"] or owners
    # every customer holds one line; extra lines go mostly to business customers
    owners += [
        rng.choice(business) if rng.random() < 0.7 else rng.randrange(n_customers) for _ in range(n_subs - n_customers)
    ]

    cc = ref.operator.country_code
    numbers = rng.sample(range(10**8), n_subs)
    imsis = rng.sample(range(10**10), n_subs)
    start, end = profile.start_date, profile.end_date
    subscriptions = []
    for i, owner in enumerate(owners):
        customer = customers[owner]
        prefix = "6" if rng.random() < 0.8 else "7"
        if rng.random() < profile.late_activation_share:
            activation = start + dt.timedelta(days=rng.randrange(profile.days))
        else:
            activation = start - dt.timedelta(days=rng.randrange(1, 1500))
        termination = None
        if rng.random() < profile.termination_share:
            first = max(activation, start) + dt.timedelta(days=1)
            if first < end:
                termination = first + dt.timedelta(days=rng.randrange(0, max(1, (end - first).days)))
        plan_weights = BUSINESS_PLANS if customer.segment == "business" else CONSUMER_PLANS
        plan = _pick(rng, plan_weights)
        sub = Subscription(
            subscription_id=f"S{i + 1:07d}",
            customer_id=customer.customer_id,
            msisdn=f"{cc}{prefix}{numbers[i]:08d}",
            imsi=f"{ref.operator.mcc}{ref.operator.mnc}{imsis[i]:010d}",
            imei=luhn_complete(f"35{rng.randrange(10**12):012d}"),
            activation_date=activation,
            termination_date=termination,
        )
        change_day = None
        if rng.random() < profile.plan_change_share:
            candidate = max(activation, start) + dt.timedelta(days=rng.randrange(1, max(2, profile.days - 1)))
            if candidate < (termination or end):
                change_day = candidate
        if change_day:
            new_plan = _pick(rng, {p: w for p, w in plan_weights.items() if p != plan} or plan_weights)
            sub.plans = [PlanPeriod(plan, activation, change_day), PlanPeriod(new_plan, change_day, termination)]
        else:
            sub.plans = [PlanPeriod(plan, activation, termination)]
        subscriptions.append(sub)
    return customers, subscriptions


def personal_details(profile: Profile, customers: list[Customer]) -> dict[str, dict[str, str]]:
    """Names, addresses, e-mails and VAT ids from Faker (fr_FR), seeded for reproducibility."""
    fake = Faker("fr_FR")
    fake.seed_instance(profile.seed)
    details = {}
    for c in customers:
        name = fake.company() if c.segment == "business" else fake.name()
        details[c.customer_id] = {
            "name": name,
            "street": fake.street_address(),
            "postcode": fake.postcode(),
            "city": fake.city(),
            "email": fake.free_email() if c.segment == "consumer" else fake.company_email(),
            "vat_id": f"FR{fake.numerify('###########')}" if c.segment == "business" else "",
        }
    return details


DDL = """
create schema if not exists crm;
create table if not exists crm.customers (
    customer_id text primary key,
    customer_name text not null,
    street text not null,
    postcode text not null,
    city text not null,
    country text not null,
    email text not null,
    segment text not null check (segment in ('consumer', 'business')),
    vat_id text,
    bill_cycle_day smallint not null check (bill_cycle_day between 1 and 28),
    tax_region text not null
);
create table if not exists crm.subscriptions (
    subscription_id text primary key,
    customer_id text not null references crm.customers (customer_id),
    msisdn text not null unique,
    imsi text not null unique,
    imei text not null,
    activation_date date not null,
    termination_date date,
    status text not null check (status in ('active', 'terminated'))
);
create table if not exists crm.subscription_plans (
    subscription_id text not null references crm.subscriptions (subscription_id),
    plan_id text not null,
    valid_from date not null,
    valid_to date,
    primary key (subscription_id, valid_from)
);
"""


def _copy(cur, table: str, columns: list[str], rows: list[list]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    buf.seek(0)
    cur.copy_expert(f"copy {table} ({', '.join(columns)}) from stdin with (format csv, null '')", buf)


def write_crm(conn, profile: Profile, ref: ReferenceData) -> dict[str, int]:
    """Replace the CRM tables with the base for this profile, in one transaction (idempotent)."""
    customers, subscriptions = build_base(profile, ref)
    details = personal_details(profile, customers)
    today = profile.end_date
    with conn.cursor() as cur:
        cur.execute(DDL)
        cur.execute("truncate crm.subscription_plans, crm.subscriptions, crm.customers")
        _copy(
            cur,
            "crm.customers",
            [
                "customer_id",
                "customer_name",
                "street",
                "postcode",
                "city",
                "country",
                "email",
                "segment",
                "vat_id",
                "bill_cycle_day",
                "tax_region",
            ],
            [
                [
                    c.customer_id,
                    d["name"],
                    d["street"],
                    d["postcode"],
                    d["city"],
                    ref.operator.country,
                    d["email"],
                    c.segment,
                    d["vat_id"] or None,
                    c.bill_cycle_day,
                    c.tax_region,
                ]
                for c in customers
                for d in [details[c.customer_id]]
            ],
        )
        _copy(
            cur,
            "crm.subscriptions",
            [
                "subscription_id",
                "customer_id",
                "msisdn",
                "imsi",
                "imei",
                "activation_date",
                "termination_date",
                "status",
            ],
            [
                [
                    s.subscription_id,
                    s.customer_id,
                    s.msisdn,
                    s.imsi,
                    s.imei,
                    s.activation_date,
                    s.termination_date,
                    "terminated" if s.termination_date and s.termination_date <= today else "active",
                ]
                for s in subscriptions
            ],
        )
        _copy(
            cur,
            "crm.subscription_plans",
            ["subscription_id", "plan_id", "valid_from", "valid_to"],
            [[s.subscription_id, p.plan_id, p.valid_from, p.valid_to] for s in subscriptions for p in s.plans],
        )
    conn.commit()
    return {
        "customers": len(customers),
        "subscriptions": len(subscriptions),
        "plan_periods": sum(len(s.plans) for s in subscriptions),
    }
