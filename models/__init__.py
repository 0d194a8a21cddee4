"""The domain, one package per aggregate, each with the same file roles:

- `tables.py`: the mapped tables (rows);
- `rules.py`: pure rules over plain values (no session, no clock reads, no I/O);
- `queries.py`: statements on the database, given a session (a role too big for one file is a
  folder of the same name);
- `use_cases.py`: what the API does; each use case checks the access policy and owns its unit
  of work (`kernel.database.writes` / `reads`);
- `errors.py`: what can go wrong, in the domain's words (no HTTP status).

Importing this package registers every table.
"""

from models.accounts.tables import RefreshToken, User
from models.appointments.tables import (
    Appointment,
    ProviderAvailability,
    ProviderExtraHours,
    ProviderTimeOff,
)
from models.audit.tables import AuditChainHead, AuditLog
from models.base import Base
from models.consents.tables import PatientConsent
from models.providers.tables import (
    InsurancePlan,
    ProviderLocation,
    ProviderProfile,
    provider_insurance_plans,
)
from models.records.tables import MedicalRecord, MedicalRecordAttachment
from models.waitlist.tables import WaitlistEntry, WaitlistOffer, WaitlistSlot

__all__ = [
    "Appointment",
    "AuditChainHead",
    "AuditLog",
    "Base",
    "InsurancePlan",
    "MedicalRecord",
    "MedicalRecordAttachment",
    "PatientConsent",
    "ProviderAvailability",
    "ProviderExtraHours",
    "ProviderLocation",
    "ProviderProfile",
    "ProviderTimeOff",
    "RefreshToken",
    "User",
    "WaitlistEntry",
    "WaitlistOffer",
    "WaitlistSlot",
    "provider_insurance_plans",
]
