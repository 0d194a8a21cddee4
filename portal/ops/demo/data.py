"""The demo data itself: names, places, plans, schedules, accounts, records."""

from __future__ import annotations

from datetime import date

from models.appointments.rules.slots import WEEKDAY_NAMES

DEFAULT_PROVIDERS = 24
DISABLED_PASSWORD = "!login-disabled"  # not an argon2 hash: verification always fails

FIRST_NAMES = [
    "James", "Maria", "Robert", "Aisha", "Michael", "Priya", "David", "Elena", "William",
    "Grace", "Daniel", "Sofia", "Thomas", "Mei", "Andrew", "Fatima", "Benjamin", "Olivia",
    "Samuel", "Hannah", "Lucas", "Amara", "Nathan", "Isabel", "Ethan", "Leila", "Jonah",
    "Claire", "Omar", "Rachel",
]  # fmt: skip
LAST_NAMES = [
    "Chen", "Patel", "Okafor", "Rodriguez", "Kim", "Nguyen", "Goldberg", "O'Brien", "Haddad",
    "Müller", "Rossi", "Kowalski", "Tanaka", "Silva", "Andersson", "Walsh", "Hernandez",
    "Ibrahim", "Park", "Fischer", "Murphy", "Ramirez", "Cohen", "Dubois", "Singh", "Lopez",
    "Bennett", "Adeyemi", "Sullivan", "Novak",
]  # fmt: skip
PLACES = [
    ("Boston", "MA", "02114", "Cambridge St"),
    ("Boston", "MA", "02115", "Longwood Ave"),
    ("Cambridge", "MA", "02139", "Massachusetts Ave"),
    ("Somerville", "MA", "02143", "Highland Ave"),
    ("Brookline", "MA", "02445", "Harvard St"),
    ("Newton", "MA", "02458", "Washington St"),
    ("Quincy", "MA", "02169", "Hancock St"),
    ("Worcester", "MA", "01608", "Main St"),
    ("Providence", "RI", "02903", "Eddy St"),
    ("Portland", "ME", "04101", "Congress St"),
    ("Manchester", "NH", "03101", "Elm St"),
    ("Hartford", "CT", "06106", "Seymour St"),
]
INSURANCE_PLANS = [
    "Aetna", "Blue Cross Blue Shield", "Cigna", "UnitedHealthcare", "Harvard Pilgrim",
    "Tufts Health Plan", "Medicare", "Medicaid", "Humana", "Kaiser Permanente",
]  # fmt: skip
LANGUAGES = ["Spanish", "Mandarin", "Portuguese", "French", "Arabic", "Hindi", "Vietnamese"]
SUBSPECIALTIES = {
    "family_medicine": "Preventive Medicine",
    "cardiology": "Echocardiography",
    "dermatology": "Cosmetic Dermatology",
    "internal_medicine": "Geriatric Medicine",
    "neurology": "Headache Medicine",
    "obstetrics_gynecology": "Maternal-Fetal Medicine",
    "oncology": "Hematology",
    "ophthalmology": "Retina",
    "orthopedics": "Sports Medicine",
    "pediatrics": "Adolescent Medicine",
    "psychiatry": "Child and Adolescent Psychiatry",
    "radiology": "Interventional Radiology",
    "surgery": "General Surgery",
    "urology": "Endourology",
}
SCHOOLS = [
    "Harvard Medical School", "Johns Hopkins School of Medicine", "Yale School of Medicine",
    "Boston University School of Medicine", "Tufts University School of Medicine",
    "UMass Chan Medical School", "Columbia Vagelos College of Physicians and Surgeons",
]  # fmt: skip
SCHEDULES = [
    {d: [("09:00", "12:00"), ("13:00", "17:00")] for d in WEEKDAY_NAMES[:5]},
    {d: [("08:00", "12:00")] for d in ("monday", "wednesday", "friday")}
    | {d: [("12:00", "18:00")] for d in ("tuesday", "thursday")},
    {d: [("10:00", "16:00")] for d in WEEKDAY_NAMES[:4]} | {"saturday": [("09:00", "13:00")]},
    {d: [("07:30", "11:30"), ("12:30", "15:30")] for d in ("monday", "tuesday", "thursday")},
]

PATIENTS = [
    ("patient1@example.com", "Emily", "Carter", date(1985, 3, 14)),
    ("patient2@example.com", "Marcus", "Reed", date(1972, 11, 2)),
    ("patient3@example.com", "Ana", "Souza", date(1994, 6, 21)),
    ("patient4@example.com", "George", "Whitfield", date(1958, 1, 30)),
    ("patient5@example.com", "Yuki", "Morales", date(2001, 9, 8)),
]
STAFF = [
    ("nurse1@example.com", "nurse", "Linda", "Brooks"),
    ("admin@example.com", "admin", "Alex", "Morgan"),
    ("frontdesk@example.com", "nurse", "Jordan", "Hayes"),
]
# The front desk's demo day: whose visits, with which provider, and one visit in each status of
# the lifecycle (day offset from today, status), so every state shows in the lists.
FRONT_DESK_NURSE = "frontdesk@example.com"
FRONT_DESK_PROVIDER = "provider3@clinic.example"
FRONT_DESK_PATIENTS = ("patient4@example.com", "patient5@example.com")
FRONT_DESK_DAY = [
    (-1, "completed"),
    (-1, "no_show"),
    (0, "checked_in"),
    (0, "confirmed"),
    (0, "scheduled"),
    (2, "cancelled"),
]
RECORDS = [
    ("lab_result", "Annual Blood Work", "Complete metabolic panel, lipid panel and CBC", "pdf"),
    ("lab_result", "Hemoglobin A1c", "A1c 5.4%, within the normal range", "pdf"),
    ("lab_result", "Thyroid Panel", "TSH and free T4 within normal limits", "pdf"),
    ("visit_note", "Annual Physical", "Routine physical; no acute concerns", "pdf"),
    ("visit_note", "Follow-up Visit", "Blood pressure improved on current dose", "pdf"),
    ("prescription", "Lisinopril 10 mg", "Once daily; 90-day supply, 3 refills", "pdf"),
    ("prescription", "Amoxicillin 500 mg", "Three times daily for 10 days", "pdf"),
    ("imaging", "Chest X-Ray", "PA and lateral views; lungs clear", "png"),
    ("imaging", "Knee MRI", "No meniscal tear; mild effusion", "png"),
    ("referral", "Referral to Cardiology", "Evaluation of intermittent palpitations", "pdf"),
    ("referral", "Referral to Physical Therapy", "Six sessions for knee strengthening", "pdf"),
]
APPOINTMENT_REASONS = [
    "Annual physical examination and wellness checkup",
    "Follow-up on blood pressure medication",
    "Persistent lower back pain for two weeks",
    "Review of recent lab results",
    "Seasonal allergy symptoms not improving",
]

# The demo doctor of the second zone: a clinic on the west coast, weekday mornings and early
# afternoons in Pacific time, with a day off and a Saturday of extra hours (days from today).
WEST_DOCTOR = "doctor2@example.com"
WEST_ZONE = "America/Los_Angeles"
WEST_PLACE = ("San Francisco", "CA", "94115", "2100 Webster St, Suite 300")
WEST_SCHEDULE = {d: [("08:00", "12:00"), ("13:00", "15:00")] for d in WEEKDAY_NAMES[:5]}
WEST_TIME_OFF_IN_DAYS = 9
WEST_EXTRA_SATURDAY_AFTER_DAYS = 10
