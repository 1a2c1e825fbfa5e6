"""Digipoort's codes: submission faults (``foutcode``) and process status codes (``statuscode``).

Provenance is part of the data so the README and ``GET /api/digipoort/codes`` can say what is real:

* ``real``    — code and text seen in public Logius material (conformance responses in
  ``reference/digipoort/wus.core``, Logius' status list).
* ``code``    — the code is public, the exact Dutch text is not; ours is modelled on the real ones.
* ``chosen``  — which check yields which code is our choice: the FTP interface's own error list is
  not public.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.errors import KoppelsimError

# The real ALS100 text from the conformance environment (wus.core fault-deliver-response.xml).
ALS100_TEXT = (
    "Het verzoek voldoet niet aan de koppelvlakspecificaties en kan hierdoor niet door Digipoort "
    "worden verwerkt.\n\nDe volgende fout is opgetreden: \n\n"
)


@dataclass(frozen=True)
class Fault:
    code: str
    text: str
    meaning: str
    provenance: str


# Submission (transport) faults: each ends in `{sender ref}_{digipoort ref}.error` in OUT.
ALS100 = Fault("ALS100", ALS100_TEXT, "meta file does not meet the interface specification "
               "(not well-formed, not UTF-8, DOCTYPE/entities, schema violation, too large)", "real")
ALS110 = Fault("ALS110", "Het bij het metabestand behorende databestand is niet aanwezig in de map IN.",
               "the data file named in the meta file is not in IN", "chosen")
ALS120 = Fault("ALS120", "De grootte of de controlesom van het databestand komt niet overeen met het "
               "metabestand.", "size or checksum of the data file differs from the meta file", "chosen")
ALS130 = Fault("ALS130", "De bestandsnaam voldoet niet aan de eisen: maximaal 200 tekens, alleen letters, "
               "cijfers, punt, underscore en koppelteken.", "file name breaks the naming rules", "chosen")
ALS140 = Fault("ALS140", "De berichtsoort is onbekend of de aanleveraar is niet gemachtigd voor deze "
               "berichtsoort.", "berichtsoort unknown or not allowed for this account", "chosen")
ALS150 = Fault("ALS150", "De aanleveraar is niet gemachtigd om aan te leveren voor deze belanghebbende.",
               "identiteitBelanghebbende not allowed for this account and berichtsoort", "chosen")
ALS160 = Fault("ALS160", "Het databestand is groter dan de maximaal toegestane omvang.",
               "declared data file size over the configured limit", "chosen")
ALS170 = Fault("ALS170", "De aanlevering bevat een beveiligingsprobleem en is geweigerd.",
               "security problem: the XML data file declares a DOCTYPE or entities", "chosen")
ALS400 = Fault("ALS400", "Er is een technische fout opgetreden. Probeer het later opnieuw.",
               "technical error (also: Digipoort overloaded)", "code")

# Faults that end a delivered submission; carried in the answer Digipoort itself writes.
AFS400 = Fault("AFS400", "Afleveren aan de uitvragende partij is niet gelukt.",
               "delivery to the recipient failed (status 410)", "code")
AFS600 = Fault("AFS600", "Het maximaal aantal afleverpogingen is bereikt; afleveren is niet gelukt.",
               "delivery retried for 72 hours without success", "code")
# Validation at Digipoort (status 311); Logius pairs status 311 with foutcode VAS500.
VAS500 = Fault("VAS500", "De aanlevering voldoet niet aan de validatieregels van Digipoort.",
               "validation at Digipoort failed (status 311)", "code")
# Status-information faults (the admin API's status view answers with these for the stubs).
# The real STS100 text (wus.core fault-newstatus-response.xml): ALS100's sentence, spaced slightly differently.
STS100 = Fault("STS100", "Het verzoek voldoet niet aan de koppelvlakspecificaties en kan hierdoor niet door "
               "Digipoort worden verwerkt.\n\nDe volgende fout is opgetreden:\n\n\n",
               "status request refused (StatusInformatieFault stub)", "real")

FAULTS = {f.code: f for f in (ALS100, ALS110, ALS120, ALS130, ALS140, ALS150, ALS160, ALS170, ALS400,
                              AFS400, AFS600, VAS500, STS100)}


@dataclass(frozen=True)
class Status:
    code: int
    text: str
    final: str | None  # "accepted", "rejected" or None
    provenance: str


_STATUSES = [
    Status(105, "Aanleverproces gestart.", None, "real"),
    Status(100, "Aanleveren gelukt.", None, "real"),
    Status(110, "Aanleverproces wordt aangeboden.", None, "real"),
    Status(200, "Authenticatie gelukt.", None, "real"),
    Status(210, "Authenticatie mislukt.", "rejected", "code"),
    Status(230, "Technisch probleem bij de autorisatieservice.", None, "code"),
    Status(301, "Validatie gelukt.", None, "real"),
    Status(311, "Validatie mislukt.", "rejected", "code"),
    Status(321, "Technisch probleem bij validatie.", None, "code"),
    Status(405, "Afleveren naar uitvragende partij bezig...", None, "real"),
    Status(400, "Afleveren uitvragende partij gelukt.", None, "real"),
    Status(410, "Afleveren uitvragende partij mislukt.", "rejected", "code"),
    Status(420, "Technisch probleem bij de afleverservice van de uitvragende partij.", None, "code"),
    Status(500, "Validatie bij de uitvragende partij gelukt.", "accepted", "real"),
    Status(510, "Validatie bij de uitvragende partij mislukt.", "rejected", "code"),
]
STATUSES = {s.code: s for s in _STATUSES}

# The real happy path of the conformance environment (wus.core valid-newstatus-response.xml).
HAPPY_TRANSPORT = (105, 100, 110)
HAPPY_DELIVERY = (200, 301, 301, 405, 400)


class SubmissionRefused(KoppelsimError):
    """A check on a submission failed: becomes an ``.error`` file carrying ``fault``."""

    http_status = 422

    def __init__(self, fault: Fault, detail: str = "") -> None:
        super().__init__(f"{fault.code}: {detail or fault.meaning}", code=fault.code)
        self.fault = fault
        self.detail = detail

    @property
    def description(self) -> str:
        """The ``foutbeschrijving``: Digipoort's fixed sentence plus what exactly was wrong."""
        if self.fault is ALS100:
            return self.fault.text + self.detail
        return f"{self.fault.text}\n\n{self.detail}" if self.detail else self.fault.text
