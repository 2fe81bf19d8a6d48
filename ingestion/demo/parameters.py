"""The demo CRM's parameters: its pipelines, stages, accounts, deals, reasons and teams.

Pure data, apart from the code so the shape of the simulated company (rates, shares,
cycle lengths, names) reads in one place; changing any value changes every demo number
(and the shipped objectives and reference KPIs that rest on them).
"""

from __future__ import annotations

import numpy as np

DAY = 86_400
BLOCK_DEALS = 10_000
MIN_DEALS, MAX_DEALS = 100, 1_000_000
MIN_YEARS, MAX_YEARS = 2, 10
CACHED_BLOCKS = 4  # dlt pulls accounts, deals and history round-robin: one block serves all

# -- pipelines and stages --------------------------------------------------------------

NEW_BUSINESS, RENEWALS = "New Business", "Renewals"
NB_STAGES = (
    ("Lead", "0.05"),
    ("Qualified", "0.10"),
    ("Discovery", "0.20"),
    ("Demo", "0.30"),
    ("Technical Validation", "0.45"),
    ("Proposal", "0.60"),
    ("Negotiation", "0.75"),
    ("Contract Sent", "0.90"),
)
RENEWAL_STAGES = (
    ("Renewal Due", "0.70"),
    ("Usage Review", "0.75"),
    ("Renewal Proposal", "0.80"),
    ("Renewal Negotiation", "0.85"),
    ("Renewal Contract Sent", "0.95"),
)
CLOSED_WON, CLOSED_LOST = "Closed Won", "Closed Lost"
# One code per stage name: NB stages, then renewal stages, then the two closed stages.
STAGE_NAMES = (
    tuple(s for s, _ in NB_STAGES) + tuple(s for s, _ in RENEWAL_STAGES) + (CLOSED_WON, CLOSED_LOST)
)
RENEWAL_BASE = len(NB_STAGES)
WON_CODE = len(STAGE_NAMES) - 2
LOST_CODE = len(STAGE_NAMES) - 1
PIPELINES = (NEW_BUSINESS, RENEWALS)

# Where a deal enters its pipeline, and where a lost deal was lost (local stage index).
NB_START_P = (0.75, 0.15, 0.10)
NB_LOST_AT_P = (0.08, 0.12, 0.14, 0.15, 0.15, 0.13, 0.12, 0.11)
RENEWAL_LOST_AT_P = (0.15, 0.20, 0.20, 0.25, 0.20)
BOUNCE_RATE = 0.45  # expected backward moves per stage step: deals slip back and recover
MAX_BOUNCES = 2

# -- accounts ----------------------------------------------------------------------------

SEGMENTS = ("SMB", "Mid-Market", "Enterprise")
SEGMENT_P = (0.62, 0.28, 0.10)
REGIONS = ("EMEA", "North America", "APAC", "LATAM")
REGION_P = (0.52, 0.28, 0.12, 0.08)
CURRENCIES = ("EUR", "USD", "GBP")
# Pricing is set in EUR and quoted in the account's currency at these round rates.
PRICE_EUR_PER_UNIT = np.array([1.0, 0.92, 1.17])
CURRENCY_P_BY_REGION = np.array(
    [
        [0.80, 0.02, 0.18],  # EMEA: the UK pays in GBP
        [0.25, 0.75, 0.00],  # some American and Asian customers buy in EUR
        [0.45, 0.55, 0.00],
        [0.40, 0.60, 0.00],
    ]
)
LOOSE_CURRENCY_P = (0.80, 0.12, 0.08)
INDUSTRIES = (
    "Software",
    "Manufacturing",
    "Financial Services",
    "Healthcare",
    "Retail",
    "Logistics",
    "Education",
    "Media",
    "Energy",
    "Professional Services",
)
INDUSTRY_MISSING_P = 0.02
PROSPECT_P = 0.10  # accounts that never get a deal
NAME_FIRST = (
    "Acme", "Blue", "Northwind", "Silver", "Red", "Bright", "Nordlicht", "Atlas", "Helix",
    "Quantum", "Cedar", "Granite", "Lumière", "Harbor", "Summit", "Pioneer", "Vertex",
    "Orion", "Falcon", "Maple", "Coral", "Iron", "Polar", "Sunrise", "Zephyr", "Östra",
    "Crescent", "Evergreen", "Nova", "Sterling",
)  # fmt: skip
NAME_SECOND = (
    "Systems", "Logistics", "Analytics", "Labs", "Foods", "Energy", "Health", "Media",
    "Software", "Industries", "Partners", "Retail", "Robotics", "Capital", "Learning",
    "Networks", "Dynamics", "Works", "Solutions", "Trading",
)  # fmt: skip
NAME_SUFFIX_BY_REGION = (
    (" GmbH", " SAS", " Ltd", " B.V.", " S.p.A.", " AB", " & Co. KG"),
    (", Inc.", " LLC", " Corp.", " Inc."),
    (" Pty Ltd", " Pte. Ltd.", " K.K.", " Ltd"),
    (" S.A.", " Ltda.", " S.A. de C.V."),
)

# Per segment (SMB, Mid-Market, Enterprise).
LIST_MRR_EUR = np.array([320.0, 1600.0, 7500.0])  # median list MRR
NB_WIN_P = np.array([0.33, 0.26, 0.19])
NB_CYCLE_DAYS = np.array([24.0, 52.0, 100.0])  # median days to close a won deal
RENEWAL_WIN_P = np.array([0.80, 0.87, 0.93])
NO_RENEWAL_P = np.array([0.08, 0.05, 0.03])  # the renewal deal is never opened: churn
EXPANSION_P = np.array([0.10, 0.22, 0.35])  # per contract year
RETRY_P = 0.35  # a lost prospect gets another new-business deal later
MAX_NB_ATTEMPTS = 3
EXPANSION_WIN_P, EXPANSION_CYCLE_DAYS = 0.55, 28.0
RENEWAL_CYCLE_DAYS = 35.0
LOOSE_SHARE = 0.03  # deals without account
LOOSE_WIN_P, LOOSE_CYCLE_DAYS, LOOSE_AMOUNT_EUR = 0.18, 20.0, 2500.0
STALE_P = 0.006  # open deals nobody closed: untouched for far longer than any cycle
UNOWNED_P = 0.004  # deals with no owner
DEALS_PER_ACCOUNT = 2.0  # first guess of a candidate account's deals; refined per block

LOST_REASONS = (
    "Price",
    "Competitor",
    "No budget",
    "No decision",
    "Timing",
    "Product fit",
    "Went dark",
    "Budget cuts",
    "Switched to competitor",
    "Low adoption",
    "Company acquired",
)
NB_REASONS = np.arange(0, 7)
RENEWAL_REASONS = np.arange(7, 11)
REASON_MISSING_P = 0.25

# -- owners --------------------------------------------------------------------------------

TEAMS = ("Enterprise", "Mid-Market", "SMB EMEA", "SMB International", "Account Management")
TEAM_SHARE = (0.16, 0.24, 0.22, 0.16, 0.22)
T_ENTERPRISE, T_MID, T_SMB_EMEA, T_SMB_INTL, T_AM = range(5)
POOL_ALL = len(TEAMS)  # every owner who takes deals
TEAMLESS_SHARE = 0.03
AM_OWNS_P = 0.75  # renewals and expansions go to Account Management, else the seller keeps them
FIRST_NAMES = (
    "Anna", "Ben", "Clara", "David", "Elena", "Felix", "Grace", "Hugo", "Ines", "Jonas",
    "Karin", "Liam", "Maria", "Noah", "Olivia", "Paul", "Quentin", "Rosa", "Samuel", "Tara",
    "Umar", "Vera", "William", "Xenia", "Yusuf", "Zoe", "Amelie", "Bruno", "Chloe", "Diego",
    "Emma", "Farid", "Greta", "Hannah", "Ivan", "Julia", "Kenji", "Lucia", "Marco", "Nina",
)  # fmt: skip
LAST_NAMES = (
    "Schmidt", "Martin", "Rossi", "Garcia", "Smith", "Dubois", "Jansen", "Nowak", "Silva",
    "Novak", "Larsen", "Murphy", "Costa", "Weber", "Moreau", "Bianchi", "Lopez", "Johnson",
    "Fischer", "Bernard", "Kowalski", "Santos", "Nielsen", "Walsh", "Ricci", "Meyer",
    "Laurent", "Fernandez", "Brown", "Wagner", "Petit", "Romano", "Sanchez", "Taylor",
    "Becker", "Leroy", "Greco", "Torres", "Wilson", "Hoffmann",
)  # fmt: skip

# Products and channels (ingestion/demo/products.py). Line items split a deal's amount;
# a cost ratio of None is a product whose cost the CRM does not know.
PRODUCTS = (  # id, name, family, cost as a share of the line amount, draw weight
    ("P-100", "Analytics Platform", "Platform", 0.22, 5.0),
    ("P-110", "Platform Seats", "Platform", 0.18, 3.0),
    ("P-200", "Club Membership", "Club", 0.35, 2.5),
    ("P-300", "Onboarding Service", "Services", 0.65, 2.0),
    ("P-310", "Training Day", "Services", None, 1.5),
    ("P-400", "Mixer Pro 500", "Equipment", 0.55, 1.0),
    ("P-410", "Mixer Compact", "Equipment", 0.58, 1.0),
)
MAX_LINES = 4  # a deal carries 1 + Binomial(MAX_LINES - 1, 0.5) products: 2.5 on average
NO_LINES_P = 0.08  # deals whose products nobody entered: one line of product "(none)"
CHANNELS = ("Direct", "Website", "Partner", "Trade show", "Referral")
CHANNEL_P = (0.34, 0.27, 0.17, 0.11, 0.11)
EXISTING_CUSTOMER = "Existing customer"  # the channel of renewals and expansions
NO_CHANNEL_P = 0.04
