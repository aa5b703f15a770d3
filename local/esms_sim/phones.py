"""Vietnamese mobile numbers as eSMS takes and reports them."""

from __future__ import annotations

import re

_LOCAL_PHONE = re.compile(r"^0[35789]\d{8}$")
_INTERNATIONAL_PHONE = re.compile(r"^84[35789]\d{8}$")
_TELCO_PREFIXES = {
    "1": "032 033 034 035 036 037 038 039 086 096 097 098",  # Viettel
    "2": "070 076 077 078 079 089 090 093",  # Mobifone
    "3": "081 082 083 084 085 088 091 094",  # Vinaphone
    "4": "052 056 058 092",  # Vietnamobile
    "5": "059 099",  # Gtel
    "6": "087",  # Itel
    "7": "055",  # Reddi
}
_TELCO_BY_PREFIX = {
    prefix: telco for telco, prefixes in _TELCO_PREFIXES.items() for prefix in prefixes.split()
}


def local_phone(phone: str) -> str | None:
    """The 0xxxxxxxxx form eSMS reports in callbacks, or None when eSMS would answer 108."""
    if _LOCAL_PHONE.fullmatch(phone):
        return phone
    if _INTERNATIONAL_PHONE.fullmatch(phone):
        return "0" + phone[2:]
    return None


def telco_id(phone: str) -> str:
    """eSMS's telcoid of a 0xxxxxxxxx number (1 Viettel, 2 Mobifone, ...); 1 when the prefix is unknown."""
    return _TELCO_BY_PREFIX.get(phone[:3], "1")
