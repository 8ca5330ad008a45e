"""The sample's words: company, person, street and city names (Polish and English), the
dictionaries' extra rows per language, valid Polish tax ids, and the few client and contact rows
built in Python from them (crm_data.demo)."""

from __future__ import annotations

from crm_data.rules import name_skeleton

EXTRA = {
    "en": {
        "pipelines": {
            "Request for quotation": [
                ("Received", 10),
                ("Costing", 40),
                ("Quote sent", 70),
                ("Accepted", 100, "won"),
                ("Rejected", 0, "lost"),
            ],
            "Order fulfilment": [
                ("Ordered", 20),
                ("In production", 50),
                ("Shipped", 80),
                ("Delivered", 100, "won"),
                ("Cancelled", 0, "lost"),
            ],
        },
        "resources": [
            ("Conference room A", "room", 15),
            ("Meeting room B", "room", 10),
            ("Projector Epson", "projector", 0),
            ("Car Škoda Octavia WX 1234A", "car", 30),
            ("Car Toyota Corolla WX 5678B", "car", 30),
        ],
        "dictionaries": {
            "Lead source": ["Website", "Referral", "Trade fair", "Cold call", "LinkedIn"],
            "Client mood": ["Positive", "Neutral", "Sceptical"],
        },
        "units": ["pcs", "h", "kg", "m", "licence", "t", "day", "year"],
        "notes": {
            "verbs": ["Called", "Spoke with", "Met", "Wrote to", "Followed up with", "Had a video call with"],
            "people": [
                "the purchasing manager",
                "the CEO",
                "the technical director",
                "the owner",
                "the office manager",
                "the chief accountant",
            ],
            "topics": [
                "about the offer",
                "about delivery dates",
                "about pricing",
                "about the contract draft",
                "about a discount",
                "about technical requirements",
                "about the invoice",
                "about next year's volumes",
            ],
            "outcomes": [
                "Interested, wants details.",
                "Asked for a revised offer.",
                "Needs approval from the board.",
                "Agreed on next steps.",
                "Not convinced yet.",
                "Very positive.",
                "Will call back next week.",
            ],
            "titles": {"0": "Offer", "1": "RFQ", "2": "Order"},
        },
    },
    "pl": {
        "pipelines": {
            "Zapytanie ofertowe": [
                ("Otrzymane", 10),
                ("Kalkulacja", 40),
                ("Wysłana wycena", 70),
                ("Przyjęte", 100, "won"),
                ("Odrzucone", 0, "lost"),
            ],
            "Realizacja zamówienia": [
                ("Zamówione", 20),
                ("W produkcji", 50),
                ("Wysłane", 80),
                ("Dostarczone", 100, "won"),
                ("Anulowane", 0, "lost"),
            ],
        },
        "resources": [
            ("Sala konferencyjna A", "sala", 15),
            ("Salka B", "sala", 10),
            ("Projektor Epson", "projektor", 0),
            ("Samochód Škoda Octavia WX 1234A", "samochód", 30),
            ("Samochód Toyota Corolla WX 5678B", "samochód", 30),
        ],
        "dictionaries": {
            "Źródło kontaktu": ["Strona www", "Polecenie", "Targi", "Zimny telefon", "LinkedIn"],
            "Nastawienie klienta": ["Pozytywne", "Neutralne", "Sceptyczne"],
        },
        "units": ["szt.", "godz.", "kg", "m", "licencja", "t", "dzień", "rok"],
        "notes": {
            "verbs": ["Rozmowa z", "Spotkanie z", "Telefon z", "Wideorozmowa z", "Ustalenia z", "Konsultacja z"],
            "people": [
                "kierownikiem zakupów",
                "prezesem",
                "dyrektorem technicznym",
                "właścicielem",
                "kierowniczką biura",
                "główną księgową",
            ],
            "topics": [
                "w sprawie oferty",
                "o terminach dostaw",
                "o cenach",
                "o projekcie umowy",
                "o rabacie",
                "o wymaganiach technicznych",
                "o fakturze",
                "o wolumenach na przyszły rok",
            ],
            "outcomes": [
                "Zainteresowany, prosi o szczegóły.",
                "Prosi o poprawioną ofertę.",
                "Potrzebna zgoda zarządu.",
                "Ustaliliśmy kolejne kroki.",
                "Jeszcze nieprzekonany.",
                "Bardzo pozytywnie.",
                "Oddzwoni w przyszłym tygodniu.",
            ],
            "titles": {"0": "Oferta", "1": "Zapytanie", "2": "Zamówienie"},
        },
    },
}

PRODUCTS = [
    ("CRM-LIC", "CRM licence", "Licencja CRM", 4, "1200.00"),
    ("SRV-H", "Consulting hour", "Godzina konsultacji", 1, "250.00"),
    ("PLC-S7", "PLC controller S7", "Sterownik PLC S7", 0, "3450.00"),
    ("CAB-100", "Cable 100 m", "Kabel 100 m", 0, "189.90"),
    ("PMP-2", "Water pump 2 kW", "Pompa wodna 2 kW", 0, "2199.00"),
    ("PNL-400", "Solar panel 400 W", "Panel fotowoltaiczny 400 W", 0, "749.00"),
    ("INV-5K", "Inverter 5 kW", "Falownik 5 kW", 0, "5290.00"),
    ("STL-1T", "Steel sheet (tonne)", "Blacha stalowa (tona)", 5, "4100.00"),
    ("PAL-EU", "Euro pallet", "Paleta EUR", 0, "65.00"),
    ("TRN-D", "Training day", "Dzień szkolenia", 6, "3200.00"),
    ("SUP-Y", "Support, yearly", "Wsparcie roczne", 7, "9600.00"),
    ("LED-60", "LED panel 60x60", "Panel LED 60x60", 0, "129.00"),
    ("DRV-24", "Motor drive 24 V", "Napęd 24 V", 0, "860.00"),
    ("SNS-T", "Temperature sensor", "Czujnik temperatury", 0, "95.50"),
    ("HVC-10", "Heat pump 10 kW", "Pompa ciepła 10 kW", 0, "28900.00"),
    ("FRK-2", "Forklift rental (day)", "Wynajem wózka (dzień)", 1, "420.00"),
    ("PNT-W", "Paint, white 10 l", "Farba biała 10 l", 0, "219.00"),
    ("SRV-INS", "Installation service", "Usługa montażu", 1, "1800.00"),
    ("WIN-PVC", "PVC window", "Okno PCV", 0, "1490.00"),
    ("BRK-500", "Bricks, pallet of 500", "Cegły, paleta 500 szt.", 0, "1150.00"),
]

COMPANY_STEMS = [
    "Agro",
    "Bud",
    "Eko",
    "Euro",
    "Inter",
    "Med",
    "Nord",
    "Pol",
    "Tech",
    "Trans",
    "Wod",
    "Stal",
    "Elektro",
    "Drew",
    "Mleko",
    "Farm",
    "Auto",
    "Termo",
    "Opto",
    "Sol",
    "Hydro",
    "Geo",
    "Bio",
    "Kraft",
    "Baltic",
    "Silesia",
    "Mazur",
    "Vistula",
    "Karpat",
    "Odra",
    "Warta",
    "Tatra",
]
COMPANY_ENDINGS = [
    "mex",
    "pol",
    "tech",
    "bud",
    "trans",
    "med",
    "serwis",
    "plast",
    "chem",
    "system",
    "logistyka",
    "net",
    "soft",
    "met",
    "dom",
    "Systems",
    "Logistics",
    "Solutions",
    "Industries",
    "Trading",
]
LEGAL_FORMS = ["Sp. z o.o.", "S.A.", "sp.j.", "Ltd", "GmbH", "Sp. z o.o. sp.k.", "Inc."]
CITIES = [
    "Warszawa",
    "Kraków",
    "Łódź",
    "Wrocław",
    "Poznań",
    "Gdańsk",
    "Szczecin",
    "Bydgoszcz",
    "Lublin",
    "Białystok",
    "Katowice",
    "Gdynia",
    "Częstochowa",
    "Radom",
    "Toruń",
    "Rzeszów",
    "Kielce",
    "Olsztyn",
    "London",
    "Manchester",
    "Berlin",
    "Hamburg",
    "Praha",
    "Vilnius",
]
STREETS = [
    "ul. Marszałkowska",
    "ul. Długa",
    "ul. Polna",
    "ul. Leśna",
    "ul. Słoneczna",
    "ul. Przemysłowa",
    "al. Jerozolimskie",
    "ul. Żeromskiego",
    "ul. Kościuszki",
    "High Street",
    "Station Road",
]
FIRST_F = [
    "Anna",
    "Katarzyna",
    "Małgorzata",
    "Agnieszka",
    "Barbara",
    "Ewa",
    "Magdalena",
    "Joanna",
    "Zofia",
    "Aleksandra",
    "Emily",
    "Sarah",
    "Olivia",
    "Grace",
]
FIRST_M = [
    "Piotr",
    "Krzysztof",
    "Andrzej",
    "Tomasz",
    "Paweł",
    "Michał",
    "Marcin",
    "Łukasz",
    "Grzegorz",
    "Jakub",
    "Wojciech",
    "James",
    "Oliver",
    "Thomas",
    "Harry",
]
# (masculine, feminine) surname forms; English surnames do not change
SURNAMES = [
    ("Nowak", "Nowak"),
    ("Kowalski", "Kowalska"),
    ("Wiśniewski", "Wiśniewska"),
    ("Wójcik", "Wójcik"),
    ("Kowalczyk", "Kowalczyk"),
    ("Kamiński", "Kamińska"),
    ("Lewandowski", "Lewandowska"),
    ("Zieliński", "Zielińska"),
    ("Szymański", "Szymańska"),
    ("Woźniak", "Woźniak"),
    ("Dąbrowski", "Dąbrowska"),
    ("Kozłowski", "Kozłowska"),
    ("Jankowski", "Jankowska"),
    ("Mazur", "Mazur"),
    ("Krawczyk", "Krawczyk"),
    ("Smith", "Smith"),
    ("Jones", "Jones"),
    ("Taylor", "Taylor"),
    ("Brown", "Brown"),
    ("Williams", "Williams"),
    ("Wilson", "Wilson"),
]
POSITIONS = [
    "CEO",
    "CFO",
    "Purchasing manager",
    "Kierownik zakupów",
    "Dyrektor techniczny",
    "Office manager",
    "Specjalista ds. zakupów",
    "Project manager",
    "Właściciel",
    "Główny księgowy",
]


def nip(seed: int) -> str:
    """A valid Polish tax id (NIP): nine digits and a mod-11 check digit that is not 10."""
    weights = (6, 5, 7, 2, 3, 4, 5, 6, 7)
    n = seed
    while True:
        digits = [(n // 10**i) % 10 for i in range(9)]
        digits[0] = digits[0] or 1
        check = sum(w * d for w, d in zip(weights, digits, strict=True)) % 11
        if check != 10:
            return "".join(map(str, digits)) + str(check)
        n += 7919


def mix(i: int, salt: int) -> int:
    """Deterministic pseudo-random integer for small Python-side tables."""
    x = (i * 2654435761 + salt * 40503 + 0x9E3779B9) & 0xFFFFFFFF
    x ^= x >> 16
    x = (x * 0x45D9F3B) & 0xFFFFFFFF
    x ^= x >> 16
    return x


def person_name(i: int, salt: int) -> str:
    """A Polish name (feminine surname forms where Polish has them) or, one in five, English."""
    english = mix(i, salt + 3) % 5 == 0
    surnames = SURNAMES[15:] if english else SURNAMES[:15]
    surname = surnames[mix(i, salt + 1) % len(surnames)]
    female, male = (FIRST_F[10:], FIRST_M[10:]) if english else (FIRST_F[:10], FIRST_M[:10])
    if mix(i, salt) % 2:
        return f"{female[mix(i, salt + 2) % len(female)]} {surname[1]}"
    return f"{male[mix(i, salt + 2) % len(male)]} {surname[0]}"


def company_names(count: int) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    i = 0
    while len(names) < count:
        stem = COMPANY_STEMS[mix(i, 11) % len(COMPANY_STEMS)]
        ending = COMPANY_ENDINGS[mix(i, 12) % len(COMPANY_ENDINGS)]
        form = LEGAL_FORMS[mix(i, 13) % len(LEGAL_FORMS)]
        glue = "-" if ending[0].isupper() else ""
        name = f"{stem}{glue}{ending} {form}" if glue == "" else f"{stem} {ending} {form}"
        if i >= 3000:
            name = f"{name} {CITIES[mix(i, 14) % len(CITIES)]}"
        if i >= 60000:
            name = f"{name} {i}"
        key = name_skeleton(name)
        if key not in seen:
            seen.add(key)
            names.append(name)
        i += 1
    return names


def ascii_only(text: str) -> str:
    return text.translate(str.maketrans("ąćęłńóśźż", "acelnoszz"))


# -- clients and contacts: few, built in Python for valid tax ids and exact name keys ---------------


def client_rows(count: int) -> dict[str, list]:
    names = company_names(count)
    return {
        "name": names,
        "name_key": [name_skeleton(n) for n in names],
        "tax_id": [nip(mix(i, 21) * 10007 + i) for i in range(count)],
        "address": [
            f"{STREETS[mix(i, 22) % len(STREETS)]} {1 + mix(i, 23) % 180}, {CITIES[mix(i, 24) % len(CITIES)]}"
            for i in range(count)
        ],
        "email": [f"biuro@{name_skeleton(n).split()[0].replace('-', '')}.example" for n in names],
        "phone": [
            f"+48 {mix(i, 25) % 900 + 100} {mix(i, 26) % 900 + 100} {mix(i, 27) % 900 + 100}" for i in range(count)
        ],
    }


def contact_rows(client_emails: list[str]) -> dict[str, list]:
    """One to four contacts per client, with the client's mail domain."""
    rows: dict[str, list] = {key: [] for key in ("client_no", "k", "name", "position", "email", "phone")}
    for c, client_email in enumerate(client_emails):
        for k in range(1 + mix(c, 31) % 4):
            seed = c * 7 + k
            person = person_name(seed, 41)
            for key, value in (
                ("client_no", c),
                ("k", k),
                ("name", person),
                ("position", POSITIONS[mix(seed, 42) % len(POSITIONS)]),
                ("email", f"{ascii_only(name_skeleton(person).split()[0])}@{client_email.split('@')[1]}"),
                ("phone", f"+48 5{mix(seed, 43) % 90 + 10} {mix(seed, 44) % 900 + 100} {mix(seed, 45) % 900 + 100}"),
            ):
                rows[key].append(value)
    return rows


def unnest_sql(columns: dict[str, list]) -> str:
    """A SELECT of the named list parameters side by side, one row per position, numbered `no`."""
    first = next(iter(columns))
    unnested = ", ".join(f"unnest(${name}) AS {name}" for name in columns)
    return f"SELECT unnest(range(len(${first}))) AS no, {unnested}"
