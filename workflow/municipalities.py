"""The 98 Danish municipalities with a reference point each, so the market scan can show how far an offer's
municipality is from the citizen's home municipality."""

from __future__ import annotations

import math
from dataclasses import dataclass

_EARTH_RADIUS_KM = 6371.0

_HOVEDSTADEN = "Region Hovedstaden"
_SJAELLAND = "Region Sjælland"
_SYDDANMARK = "Region Syddanmark"
_MIDTJYLLAND = "Region Midtjylland"
_NORDJYLLAND = "Region Nordjylland"


@dataclass(frozen=True)
class Municipality:
    code: str  # official 3-digit municipality number; a string so leading digits and lookups stay exact
    name: str
    region: str
    lat: float
    lon: float


# Reference points are the town hall or main town; a few km off is fine for a "how far away" indication.
_DATA: tuple[tuple[str, str, str, float, float], ...] = (
    # Region Hovedstaden
    ("101", "København", _HOVEDSTADEN, 55.6757, 12.5700),
    ("147", "Frederiksberg", _HOVEDSTADEN, 55.6786, 12.5320),
    ("151", "Ballerup", _HOVEDSTADEN, 55.7316, 12.3633),
    ("153", "Brøndby", _HOVEDSTADEN, 55.6480, 12.4190),
    ("155", "Dragør", _HOVEDSTADEN, 55.5936, 12.6720),
    ("157", "Gentofte", _HOVEDSTADEN, 55.7496, 12.5512),
    ("159", "Gladsaxe", _HOVEDSTADEN, 55.7328, 12.4893),
    ("161", "Glostrup", _HOVEDSTADEN, 55.6625, 12.4030),
    ("163", "Herlev", _HOVEDSTADEN, 55.7237, 12.4400),
    ("165", "Albertslund", _HOVEDSTADEN, 55.6570, 12.3530),
    ("167", "Hvidovre", _HOVEDSTADEN, 55.6420, 12.4740),
    ("169", "Høje-Taastrup", _HOVEDSTADEN, 55.6495, 12.2700),
    ("173", "Lyngby-Taarbæk", _HOVEDSTADEN, 55.7700, 12.5030),
    ("175", "Rødovre", _HOVEDSTADEN, 55.6810, 12.4540),
    ("183", "Ishøj", _HOVEDSTADEN, 55.6150, 12.3520),
    ("185", "Tårnby", _HOVEDSTADEN, 55.6290, 12.6020),
    ("187", "Vallensbæk", _HOVEDSTADEN, 55.6230, 12.3860),
    ("190", "Furesø", _HOVEDSTADEN, 55.7825, 12.3730),
    ("201", "Allerød", _HOVEDSTADEN, 55.8710, 12.3580),
    ("210", "Fredensborg", _HOVEDSTADEN, 55.9760, 12.4040),
    ("217", "Helsingør", _HOVEDSTADEN, 56.0360, 12.6130),
    ("219", "Hillerød", _HOVEDSTADEN, 55.9270, 12.3000),
    ("223", "Hørsholm", _HOVEDSTADEN, 55.8810, 12.5010),
    ("230", "Rudersdal", _HOVEDSTADEN, 55.8270, 12.4920),
    ("240", "Egedal", _HOVEDSTADEN, 55.7680, 12.1920),
    ("250", "Frederikssund", _HOVEDSTADEN, 55.8396, 12.0690),
    ("260", "Gribskov", _HOVEDSTADEN, 56.0230, 12.1980),
    ("270", "Halsnæs", _HOVEDSTADEN, 55.9680, 11.9420),
    ("400", "Bornholm", _HOVEDSTADEN, 55.1000, 14.7060),
    # Region Sjælland
    ("253", "Greve", _SJAELLAND, 55.5830, 12.3000),
    ("259", "Køge", _SJAELLAND, 55.4580, 12.1820),
    ("265", "Roskilde", _SJAELLAND, 55.6415, 12.0803),
    ("269", "Solrød", _SJAELLAND, 55.5360, 12.2200),
    ("306", "Odsherred", _SJAELLAND, 55.9250, 11.6710),
    ("316", "Holbæk", _SJAELLAND, 55.7160, 11.7130),
    ("320", "Faxe", _SJAELLAND, 55.2560, 12.1190),
    ("326", "Kalundborg", _SJAELLAND, 55.6800, 11.0890),
    ("329", "Ringsted", _SJAELLAND, 55.4430, 11.7900),
    ("330", "Slagelse", _SJAELLAND, 55.4030, 11.3540),
    ("336", "Stevns", _SJAELLAND, 55.3100, 12.3890),
    ("340", "Sorø", _SJAELLAND, 55.4320, 11.5560),
    ("350", "Lejre", _SJAELLAND, 55.6040, 11.9750),
    ("360", "Lolland", _SJAELLAND, 54.7760, 11.5010),
    ("370", "Næstved", _SJAELLAND, 55.2300, 11.7610),
    ("376", "Guldborgsund", _SJAELLAND, 54.7690, 11.8740),
    ("390", "Vordingborg", _SJAELLAND, 55.0090, 11.9110),
    # Region Syddanmark
    ("410", "Middelfart", _SYDDANMARK, 55.5060, 9.7300),
    ("420", "Assens", _SYDDANMARK, 55.2700, 9.9000),
    ("430", "Faaborg-Midtfyn", _SYDDANMARK, 55.0950, 10.2420),
    ("440", "Kerteminde", _SYDDANMARK, 55.4490, 10.6570),
    ("450", "Nyborg", _SYDDANMARK, 55.3120, 10.7890),
    ("461", "Odense", _SYDDANMARK, 55.3959, 10.3883),
    ("479", "Svendborg", _SYDDANMARK, 55.0600, 10.6080),
    ("480", "Nordfyns", _SYDDANMARK, 55.5150, 10.3970),
    ("482", "Langeland", _SYDDANMARK, 54.9350, 10.7160),
    ("492", "Ærø", _SYDDANMARK, 54.8880, 10.4120),
    ("510", "Haderslev", _SYDDANMARK, 55.2490, 9.4880),
    ("530", "Billund", _SYDDANMARK, 55.7570, 8.9270),
    ("540", "Sønderborg", _SYDDANMARK, 54.9090, 9.7920),
    ("550", "Tønder", _SYDDANMARK, 54.9330, 8.8670),
    ("561", "Esbjerg", _SYDDANMARK, 55.4670, 8.4520),
    ("563", "Fanø", _SYDDANMARK, 55.4440, 8.4110),
    ("573", "Varde", _SYDDANMARK, 55.6210, 8.4810),
    ("575", "Vejen", _SYDDANMARK, 55.4810, 9.1380),
    ("580", "Aabenraa", _SYDDANMARK, 55.0440, 9.4180),
    ("607", "Fredericia", _SYDDANMARK, 55.5650, 9.7520),
    ("621", "Kolding", _SYDDANMARK, 55.4900, 9.4720),
    ("630", "Vejle", _SYDDANMARK, 55.7090, 9.5360),
    # Region Midtjylland
    ("615", "Horsens", _MIDTJYLLAND, 55.8610, 9.8500),
    ("657", "Herning", _MIDTJYLLAND, 56.1390, 8.9730),
    ("661", "Holstebro", _MIDTJYLLAND, 56.3600, 8.6160),
    ("665", "Lemvig", _MIDTJYLLAND, 56.5490, 8.3100),
    ("671", "Struer", _MIDTJYLLAND, 56.4910, 8.5840),
    ("706", "Syddjurs", _MIDTJYLLAND, 56.1950, 10.6790),
    ("707", "Norddjurs", _MIDTJYLLAND, 56.4160, 10.8870),
    ("710", "Favrskov", _MIDTJYLLAND, 56.2660, 10.0630),
    ("727", "Odder", _MIDTJYLLAND, 55.9730, 10.1530),
    ("730", "Randers", _MIDTJYLLAND, 56.4607, 10.0364),
    ("740", "Silkeborg", _MIDTJYLLAND, 56.1697, 9.5451),
    ("741", "Samsø", _MIDTJYLLAND, 55.8300, 10.5960),
    ("746", "Skanderborg", _MIDTJYLLAND, 56.0340, 9.9310),
    ("751", "Aarhus", _MIDTJYLLAND, 56.1530, 10.2030),
    ("756", "Ikast-Brande", _MIDTJYLLAND, 56.1390, 9.1580),
    ("760", "Ringkøbing-Skjern", _MIDTJYLLAND, 56.0900, 8.2440),
    ("766", "Hedensted", _MIDTJYLLAND, 55.7700, 9.7010),
    ("779", "Skive", _MIDTJYLLAND, 56.5670, 9.0270),
    ("791", "Viborg", _MIDTJYLLAND, 56.4530, 9.4020),
    # Region Nordjylland
    ("773", "Morsø", _NORDJYLLAND, 56.7930, 8.7330),
    ("787", "Thisted", _NORDJYLLAND, 56.9570, 8.6940),
    ("810", "Brønderslev", _NORDJYLLAND, 57.2700, 9.9410),
    ("813", "Frederikshavn", _NORDJYLLAND, 57.4410, 10.5370),
    ("820", "Vesthimmerlands", _NORDJYLLAND, 56.8030, 9.5180),
    ("825", "Læsø", _NORDJYLLAND, 57.2550, 10.9980),
    ("840", "Rebild", _NORDJYLLAND, 56.8860, 9.8380),
    ("846", "Mariagerfjord", _NORDJYLLAND, 56.6390, 9.7900),
    ("849", "Jammerbugt", _NORDJYLLAND, 57.1620, 9.7300),
    ("851", "Aalborg", _NORDJYLLAND, 57.0488, 9.9217),
    ("860", "Hjørring", _NORDJYLLAND, 57.4640, 9.9820),
)

# Plain code-point order would put Å before Æ and Ø; Danish order is Æ, Ø, Å after Z.
_DANISH_ORDER = str.maketrans({"æ": "{", "ø": "|", "å": "}"})


def _sort_key(name: str) -> str:
    return name.casefold().translate(_DANISH_ORDER)


MUNICIPALITIES: tuple[Municipality, ...] = tuple(
    sorted((Municipality(*row) for row in _DATA), key=lambda m: _sort_key(m.name))
)

BY_CODE: dict[str, Municipality] = {m.code: m for m in MUNICIPALITIES}
BY_NAME: dict[str, Municipality] = {m.name: m for m in MUNICIPALITIES}


def distance_km(a: Municipality, b: Municipality) -> float:
    """Great-circle distance between the two reference points, in km to one decimal."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    # min() guards against rounding pushing h a hair above 1 for near-antipodal points.
    return round(2 * _EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, h))), 1)


def choices() -> list[tuple[str, str]]:
    """(code, name) pairs sorted by name, ready for a select field."""
    return [(m.code, m.name) for m in MUNICIPALITIES]
