"""People: names, addresses and identifiers, plus the messy ways other systems record them.

A person index p maps to a unique phone number and a unique email, and both map back to
p in O(1). That makes identity across vendors well defined (same person <=> shares a
normalised phone or email) without holding any index in memory.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .rand import Rng, stream_id

FIRST_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara "
    "Richard Susan Joseph Jessica Thomas Sarah Charles Karen Christopher Lisa Daniel Nancy "
    "Matthew Betty Anthony Margaret Mark Sandra Donald Ashley Steven Kimberly Paul Emily "
    "Andrew Donna Joshua Michelle Kenneth Carol Kevin Amanda Brian Dorothy George Melissa "
    "Timothy Deborah Ronald Stephanie Edward Rebecca Jason Sharon Jeffrey Laura Ryan Cynthia "
    "Jacob Kathleen Gary Amy Nicholas Angela Eric Shirley Jonathan Anna Stephen Brenda Larry "
    "Pamela Justin Emma Scott Nicole Brandon Helen Benjamin Samantha Samuel Katherine Gregory "
    "Christine Alexander Debra Frank Rachel Patrick Carolyn Raymond Janet Jack Catherine "
    "Dennis Maria Jerry Heather Tyler Diane Aaron Ruth Jose Julie Adam Olivia Nathan Joyce "
    "Henry Virginia Douglas Victoria Zachary Kelly Peter Lauren Kyle Christina Ethan Joan "
    "Walter Evelyn Noah Judith Jeremy Megan Christian Andrea Keith Cheryl Roger Hannah "
    "Terry Jacqueline Gerald Martha Harold Gloria Sean Teresa Austin Ann Carl Sara Arthur "
    "Madison Lawrence Frances Dylan Kathryn Jesse Janice Jordan Jean Bryan Abigail Billy "
    "Alice Joe Julia Bruce Judy Gabriel Sophia Logan Grace Albert Denise Willie Amber Alan "
    "Doris Juan Marilyn Wayne Danielle Elijah Beverly Randy Isabella Roy Theresa Vincent "
    "Diana Ralph Natalie Eugene Brittany Russell Charlotte Bobby Marie Mason Kayla Philip "
    "Alexis Louis Lori Carlos Luis Miguel Sofia Diego Lucia Mateo Camila Hector Rosa"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez "
    "Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson "
    "White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott "
    "Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter "
    "Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart "
    "Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed "
    "Kelly Howard Ramos Kim Cox Ward Richardson Watson Brooks Chavez Wood James Bennett Gray "
    "Mendoza Ruiz Hughes Price Alvarez Castillo Sanders Patel Myers Long Ross Foster Jimenez "
    "Powell Jenkins Perry Russell Sullivan Bell Coleman Butler Henderson Barnes Gonzales "
    "Fisher Vasquez Simmons Romero Jordan Patterson Alexander Hamilton Graham Reynolds "
    "Griffin Wallace Moreno West Cole Hayes Bryant Herrera Gibson Ellis Tran Medina Aguilar "
    "Stevens Murray Ford Castro Marshall Owens Harrison Fernandez McDonald Woods Washington "
    "Kennedy Wells Vargas Henry Chen Freeman Webb Tucker Guzman Burns Crawford Olson Simpson "
    "Porter Hunter Gordon Mendez Silva Shaw Snyder Mason Dixon Munoz Hunt Hicks Holmes Palmer"
).split()
STREET_NAMES = (
    "Oak Maple Cedar Pine Elm Willow Pecan Mesquite Live Oak Bluebonnet Lamar Congress "
    "Guadalupe Riverside Barton Springs Cypress Magnolia Sunset Highland Lakeview Hillcrest "
    "Meadow Brook Park Ridge Spring Valley Forest Walnut Hickory Sycamore Chestnut Juniper "
    "Aspen Redbud Bowie Travis Crockett Houston Austin Fannin Burnet Anderson Parmer Mopac"
).split()
STREET_TYPES = ("St", "Ave", "Dr", "Ln", "Rd", "Blvd", "Ct", "Way", "Trl", "Cv", "Pkwy")
EMAIL_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "att.net")
COMPANY_WORDS = (
    "Holdings Properties Realty Management Investments Dental Bakery Cafe Church Storage "
    "Apartments Plaza Clinic Partners Logistics Builders Salon Fitness Academy Motors"
).split()

# Area codes whose numbers belong to people in the world; callers from any other area
# code are strangers (spam, wrong numbers) and have no person key.
PERSON_AREA_CODES = (512, 737, 210, 726, 830, 254)
STRANGER_AREA_CODES = (469, 214, 713, 281, 832, 915, 806, 361, 409, 903)
_BLOCK = 8_000_000  # 7-digit numbers with exchange 200-999 per area code
_CAPACITY = _BLOCK * len(PERSON_AREA_CODES)
_MUL = 16_180_339  # coprime with _CAPACITY (2**10 * 3 * 5**6) so the map is a bijection
_MUL_INV = pow(_MUL, -1, _CAPACITY)
_S_PERSON = stream_id("person")
_S_STRANGER = stream_id("stranger")


@dataclass(frozen=True, slots=True)
class City:
    name: str
    state: str
    zips: tuple[str, ...]
    lat: float
    lon: float
    zone: str  # IANA zone for CallRail local times


CITIES = (
    City(
        "Austin",
        "TX",
        ("78701", "78704", "78745", "78748", "78750", "78757"),
        30.27,
        -97.74,
        "America/Chicago",
    ),
    City("Round Rock", "TX", ("78664", "78665", "78681"), 30.51, -97.68, "America/Chicago"),
    City("Cedar Park", "TX", ("78613", "78641"), 30.51, -97.82, "America/Chicago"),
    City("Pflugerville", "TX", ("78660", "78691"), 30.44, -97.62, "America/Chicago"),
    City(
        "San Antonio",
        "TX",
        ("78201", "78209", "78216", "78230", "78249", "78258"),
        29.42,
        -98.49,
        "America/Chicago",
    ),
    City("New Braunfels", "TX", ("78130", "78132"), 29.70, -98.12, "America/Chicago"),
    City("San Marcos", "TX", ("78666",), 29.88, -97.94, "America/Chicago"),
    City("Georgetown", "TX", ("78626", "78628", "78633"), 30.63, -97.68, "America/Chicago"),
)


@dataclass(frozen=True, slots=True)
class Person:
    """The true identity behind customer, contact and caller records."""

    index: int
    first: str
    last: str
    phone: str  # 10 digits, canonical
    email: str  # lowercase, canonical
    street: str
    city: City
    zip: str
    lat: float
    lon: float
    commercial: bool
    company: str

    @property
    def key(self) -> str:
        return person_key(self.index)

    @property
    def full_name(self) -> str:
        return f"{self.first} {self.last}"


def person_key(index: int) -> str:
    return f"person-{index:09d}"


def person_phone(p: int) -> str:
    v = (p * _MUL + 7_654_321) % _CAPACITY
    area, rest = divmod(v, _BLOCK)
    return f"{PERSON_AREA_CODES[area]}{200 + rest // 10_000:03d}{rest % 10_000:04d}"


def person_of_phone(raw: str | None) -> int | None:
    """Inverse of person_phone for any formatting of the number."""
    d = digits(raw)
    if d is None:
        return None
    try:
        area = PERSON_AREA_CODES.index(int(d[:3]))
    except ValueError:
        return None
    ex = int(d[3:6])
    if ex < 200:
        return None
    v = area * _BLOCK + (ex - 200) * 10_000 + int(d[6:])
    return ((v - 7_654_321) * _MUL_INV) % _CAPACITY


def person_email(p: int, first: str, last: str, style: int) -> str:
    local = (f"{first}.{last}", f"{first[0]}{last}", f"{first}{last[0]}", f"{last}.{first}")[style]
    return f"{local.lower()}{p}@{EMAIL_DOMAINS[p % len(EMAIL_DOMAINS)]}"


_EMAIL_RE = re.compile(r"^[a-z.]+?(\d+)@")


def person_of_email(raw: str | None) -> int | None:
    if not raw:
        return None
    m = _EMAIL_RE.match(raw.strip().lower())
    return int(m.group(1)) if m else None


def digits(raw: str | None) -> str | None:
    """Normalise a phone to its 10 NANP digits (drops +1 / formatting), None if unusable."""
    if not raw:
        return None
    d = "".join(c for c in raw if c.isdigit())
    if len(d) == 11 and d[0] == "1":
        d = d[1:]
    return d if len(d) == 10 else None


@lru_cache(maxsize=16_384)  # a customer's contacts, locations and jobs ask in a row
def make_person(seed: int, p: int) -> Person:
    r = Rng(seed, _S_PERSON, p)
    first = r.pick(FIRST_NAMES)
    last = r.pick(LAST_NAMES)
    city = r.pick(CITIES)
    commercial = r.chance(8)
    company = f"{r.pick(LAST_NAMES)} {r.pick(COMPANY_WORDS)}" if commercial else ""
    street = f"{r.between(100, 19999)} {r.pick(STREET_NAMES)} {r.pick(STREET_TYPES)}"
    return Person(
        index=p,
        first=first,
        last=last,
        phone=person_phone(p),
        email=person_email(p, first, last, r.below(4)),
        street=street,
        city=city,
        zip=r.pick(city.zips),
        lat=round(city.lat + (r.uniform() - 0.5) * 0.2, 6),
        lon=round(city.lon + (r.uniform() - 0.5) * 0.2, 6),
        commercial=commercial,
        company=company,
    )


def stranger_phone(seed: int, index: int) -> str:
    """A caller who is nobody in the world (area codes disjoint from PERSON_AREA_CODES)."""
    r = Rng(seed, _S_STRANGER, index)
    return f"{r.pick(STRANGER_AREA_CODES)}{r.between(200, 999)}{r.between(0, 9999):04d}"


# --- how other systems garble a person -------------------------------------------------

PHONE_STYLES = ("e164", "dashed", "paren", "plain", "dotted", "spaced1")


def format_phone(d10: str, style: str) -> str:
    a, b, c = d10[:3], d10[3:6], d10[6:]
    return {
        "e164": f"+1{d10}",
        "dashed": f"{a}-{b}-{c}",
        "paren": f"({a}) {b}-{c}",
        "plain": d10,
        "dotted": f"{a}.{b}.{c}",
        "spaced1": f"1 {a} {b} {c}",
    }[style]


def typo(r: Rng, name: str) -> str:
    """One realistic keyboard slip: swap, drop or double a letter, or mangle case."""
    if len(name) < 3:
        return name
    i = r.between(1, len(name) - 2)
    kind = r.below(4)
    if kind == 0:
        return name[:i] + name[i + 1] + name[i] + name[i + 2 :]
    if kind == 1:
        return name[:i] + name[i + 1 :]
    if kind == 2:
        return name[:i] + name[i] + name[i:]
    return name.lower()
