"""Configuration of the VIES simulator (the ``vies:`` section of a koppelsim config)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The country codes VIES answers for: the EU member states with Greece as EL, and XI for Northern
# Ireland (stdnum.eu.vat.MEMBER_STATES, with VIES's "el" for its "gr").
MEMBER_STATES = ("AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "EL", "ES", "FI", "FR", "HR", "HU", "IE",
                 "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "XI")
# The WSDL's usage notes: "The countryCode input parameter must follow the pattern [A-Z]{2}; the
# vatNumber input parameter must follow the [0-9A-Za-z\+\*\.]{2,12}".
COUNTRY_PATTERN = re.compile(r"[A-Z]{2}")
NUMBER_PATTERN = re.compile(r"[0-9A-Za-z+*.]{2,12}")


# Member states whose VIES answers never carry a trader's name or address (national data-protection rules):
# VIES answers "---" for both even for a valid number.
SHARES_NO_NAME_OR_ADDRESS = frozenset({"DE"})


@dataclass
class KnownNumber:
    """A VAT number the simulated member state knows, and what VIES answers for it."""

    number: str  # with its country prefix: NL123456782B01
    valid: bool = True
    # None: the member state does not share it, VIES answers "---" (as for Germany, whose answers
    # never carry a name or address).
    name: str | None = None
    address: str | None = None

    def __post_init__(self) -> None:
        self.number = self.number.replace(" ", "").upper()
        country, rest = self.number[:2], self.number[2:]
        if country not in MEMBER_STATES or not NUMBER_PATTERN.fullmatch(rest):
            raise ValueError(f"{self.number!r} is not a VIES number: a member-state prefix "
                             f"({', '.join(MEMBER_STATES)}) and 2-12 letters or digits")

    @property
    def country(self) -> str:
        return self.number[:2]

    @property
    def local(self) -> str:
        return self.number[2:]


def _default_numbers() -> list[KnownNumber]:
    # Numbers that pass python-stdnum's check digits; the names and addresses are made up, written the
    # way the Dutch and Belgian registries answer (upper case, the address on two lines).
    return [
        KnownNumber("NL123456782B01", True, "KOPPELSIM TEST B.V.", "KERKSTRAAT 00001\n1234AB AMSTERDAM"),
        KnownNumber("NL004495445B01", True, "VOORBEELD HANDEL B.V.", "DORPSSTRAAT 00012\n3511AA UTRECHT"),
        KnownNumber("BE0403170701", True, "NV EXEMPLE", "RUE DE LA LOI 1\n1000 BRUXELLES"),
        KnownNumber("DE136695976"),  # valid; Germany shares neither name nor address
        KnownNumber("NL999999990B01", False),  # known, and no longer valid
    ]


@dataclass
class ViesConfig:
    enabled: bool = True
    # 8801: the admin API has 8800; the HTTP simulators take the ports after it. --port-offset shifts it.
    port: int = 8801
    numbers: list[KnownNumber] = field(default_factory=_default_numbers)
    # Member states whose service is down from the start (MS_UNAVAILABLE for every check of them).
    unavailable: list[str] = field(default_factory=list)
    # [CHOSEN default, from public evidence] A number of a real member state that breaks that state's
    # format or check digits is answered valid=false with "---" (what the real service does for
    # IT00950501000 and NL85187947B01); "invalid_input" answers the fault INVALID_INPUT instead.
    format_errors: str = "invalid"
    # [CHOSEN] A well-formed number nobody registered: "invalid" (valid=false, "---") or "valid" (valid,
    # name and address "---": handy when any correct number should pass).
    unknown_numbers: str = "invalid"
    # The HTTP status of a service fault (MS_UNAVAILABLE, ...). Public clients (pyvat) read faults only
    # from HTTP 200 text/xml answers and log "200" for MS_MAX_CONCURRENT_REQ; SOAP 1.1 says 500.
    fault_http_status: int = 200
    # [CHOSEN] Refuse a SOAPAction other than "" as the service did from October 2021 ("The given
    # SOAPAction checkVat does not match an operation."); off: whether it still does is not known.
    strict_soap_action: bool = False
    # [CHOSEN] 64 KB: a checkVat request is well under 1 KB.
    max_body_bytes: int = 64 * 1024
    # The zone of requestDate ("2026-11-21+01:00"): the service runs in Brussels.
    timezone: str = "Europe/Brussels"
    # A WSDL file to serve instead of ours (its soap:address is rewritten to this server).
    wsdl_path: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.port < 65536:
            raise ValueError(f"port must be 0-65535, got {self.port}")
        if self.format_errors not in ("invalid", "invalid_input"):
            raise ValueError(f"format_errors must be invalid or invalid_input, got {self.format_errors!r}")
        if self.unknown_numbers not in ("invalid", "valid"):
            raise ValueError(f"unknown_numbers must be invalid or valid, got {self.unknown_numbers!r}")
        if self.fault_http_status not in (200, 500):
            raise ValueError(f"fault_http_status must be 200 or 500, got {self.fault_http_status}")
        if self.max_body_bytes <= 0:
            raise ValueError(f"max_body_bytes must be positive, got {self.max_body_bytes}")
        self.unavailable = [check_country(c) for c in self.unavailable]
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"timezone must be an IANA zone such as Europe/Brussels, "
                             f"got {self.timezone!r}") from exc


def check_country(code: str) -> str:
    """A member-state code as VIES spells it, or a ValueError naming the known ones."""
    upper = str(code).strip().upper()
    if upper not in MEMBER_STATES:
        hint = " (VIES calls Greece EL)" if upper == "GR" else ""
        raise ValueError(f"{code!r} is not a VIES member state{hint}; known: {', '.join(MEMBER_STATES)}")
    return upper
