"""SQLAlchemy models, one module per aggregate; importing this package registers every table."""

from models.appointments import Appointment
from models.audit import AuditChainHead, AuditLog
from models.base import Base
from models.consents import PatientConsent
from models.medical_records import MedicalRecord, MedicalRecordAttachment
from models.providers import (
    InsurancePlan,
    ProviderAvailability,
    ProviderLocation,
    ProviderProfile,
    provider_insurance_plans,
)
from models.users import RefreshToken, User

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
    "ProviderLocation",
    "ProviderProfile",
    "RefreshToken",
    "User",
    "provider_insurance_plans",
]
