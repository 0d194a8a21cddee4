"""The load test's scenario: each simulated patient logs in, searches providers, reads free
slots, books, lists, reschedules and cancels, then lists records and downloads an attachment.

Patients arrive spread out: locust starts them in batches (`--spawn-rate` users at the same
instant, once a second), so each one waits a random part of that second
(LOAD_ARRIVAL_SPREAD_SECONDS, set by bench/load.py) before logging in: logins arrive at the spawn
rate, as real ones would, not as ten argon2 hashes at the same instant.

Between two pages a patient thinks: LOAD_THINK_SECONDS="min,max" (default "0.5,2", a brisk
user who already knows what to book); "0,0" turns the patients into a stress test that sends
each request as soon as the previous answer arrives.

Run by `bench/load.py` (`make load`); the patients are the `load-patient-NNN` accounts it adds.
Every successful booking and every failure (by status) is written to LOAD_OUTCOMES_FILE at the
end, for the report and the database checks.
An endpoint that answers an unexpected status (501 while it is not implemented) counts as a
failure named `HTTP <status>` and ends that round of the flow.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import threading
from datetime import date, timedelta
from typing import Any

import gevent
from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser

from bench.harness import LOAD_PASSWORD, load_patient_email

SPECIALTIES = ["family_medicine", "internal_medicine", "cardiology", "pediatrics", "dermatology"]
_numbers = itertools.count(1)
_lock = threading.Lock()
bookings: dict[str, dict[str, Any]] = {}  # appointment id -> what the server confirmed
failures: dict[str, dict[str, int]] = {}  # request name -> {status: count}, kept here because
# locust's own failure CSV can miss requests answered while the run stops


class FlowStopped(Exception):
    """The server refused a step the rest of the round depends on."""


def _think_seconds() -> tuple[float, float]:
    low, high = (float(part) for part in os.environ.get("LOAD_THINK_SECONDS", "0.5,2").split(","))
    return low, high


class Patient(FastHttpUser):
    # also the pause between the pages of one visit (`self.wait()`)
    wait_time = between(*_think_seconds())

    def on_start(self) -> None:
        self.number = next(_numbers)
        self.headers: dict[str, str] = {}
        gevent.sleep(random.uniform(0, float(os.environ.get("LOAD_ARRIVAL_SPREAD_SECONDS", "0"))))
        self._login()

    def _login(self) -> None:
        response = self._call(
            "POST",
            "/api/auth/login",
            "login",
            {200},
            json={"email": load_patient_email(self.number), "password": LOAD_PASSWORD},
        )
        if response is not None:
            body = response.json()
            self.headers = {
                "Authorization": f"Bearer {body['accessToken']}",
                "X-CSRF-Token": body["csrfToken"],
            }

    def _call(self, method: str, path: str, name: str, expected: set[int], **kwargs: Any) -> Any:
        """One request; returns the response when its status is expected, else None."""
        headers = {**self.headers, **kwargs.pop("headers", {})}
        with self.client.request(
            method, path, name=name, headers=headers, catch_response=True, **kwargs
        ) as response:
            if response.status_code in expected:
                response.success()
                return response
            response.failure(f"HTTP {response.status_code}")
            status = str(response.status_code or "connection")
            with _lock:
                by_status = failures.setdefault(name, {})
                by_status[status] = by_status.get(status, 0) + 1
            return None

    def _require(self, response: Any) -> Any:
        if response is None:
            raise FlowStopped
        return response

    @staticmethod
    def _day(offset: int) -> str:
        return (date.today() + timedelta(days=offset)).isoformat()

    def _free_slot(self, provider_id: str, first_day: str | None) -> tuple[str, str] | None:
        start = date.fromisoformat(first_day) if first_day else date.today() + timedelta(days=1)
        for extra in range(4):
            day = max(start, date.today() + timedelta(days=1)) + timedelta(days=extra)
            response = self._require(
                self._call(
                    "GET",
                    f"/api/providers/{provider_id}/available-slots?date={day.isoformat()}",
                    "available slots",
                    {200},
                )
            )
            slots = response.json()["slots"]
            if slots:
                return day.isoformat(), random.choice(slots)
        return None

    def _round(self) -> None:
        if not self.headers:
            self._login()
            self._require(self.headers or None)
        search = self._require(
            self._call(
                "POST",
                "/api/appointments/search-providers",
                "search providers",
                {200},
                json={"specialty": random.choice(SPECIALTIES)},
            )
        )
        providers = search.json()["data"]
        if not providers:
            return
        self.wait()  # reads the results, picks a provider
        provider = random.choice(providers)
        slot = self._free_slot(provider["id"], provider.get("nextAvailableDate"))
        if slot is None:
            return
        self.wait()  # picks a time
        day, time_of_day = slot
        booked = self._call(
            "POST",
            "/api/appointments",
            "book",
            {201, 409},
            json={
                "providerId": provider["id"],
                "date": day,
                "time": time_of_day,
                "type": "routine_checkup",
                "reason": "Load test: annual checkup visit",
            },
        )
        booked = self._require(booked)
        if booked.status_code == 409:  # someone else took the slot first: a correct answer
            return
        appointment = booked.json()
        with _lock:
            bookings[appointment["id"]] = {
                "patient": load_patient_email(self.number),
                "providerId": provider["id"],
                "date": appointment["date"],
                "time": appointment["time"],
                "cancelled": False,
            }
        self.wait()  # reads the confirmation
        self._require(self._call("GET", "/api/appointments", "list appointments", {200}))
        self.wait()
        self._reschedule(appointment["id"], provider["id"], day)
        self.wait()
        cancelled = self._call(
            "DELETE",
            f"/api/appointments/{appointment['id']}/cancel",
            "cancel",
            {200},
            json={"reason": "Load test: plans changed, cancelling"},
        )
        if cancelled is not None:
            with _lock:
                bookings[appointment["id"]]["cancelled"] = True

    def _reschedule(self, appointment_id: str, provider_id: str, day: str) -> None:
        later = (date.fromisoformat(day) + timedelta(days=1)).isoformat()
        slot = self._free_slot(provider_id, later)
        if slot is None:
            return
        new_day, new_time = slot
        self.wait()  # picks the new time
        moved = self._call(
            "PUT",
            f"/api/appointments/{appointment_id}/reschedule",
            "reschedule",
            {200, 409},
            json={"date": new_day, "time": new_time, "reason": "Load test"},
        )
        if moved is not None and moved.status_code == 200:
            with _lock:
                bookings[appointment_id].update(date=new_day, time=new_time)

    def _records(self) -> None:
        records = self._require(
            self._call("GET", "/api/medical-records", "list records", {200})
        ).json()["data"]
        self.wait()  # reads the list, opens the documents
        for record in records:
            for attachment in record.get("attachments", []):
                large = attachment["fileSize"] > 1024 * 1024
                self._call(
                    "GET",
                    attachment["url"],
                    "download 10 MB" if large else "download",
                    {200},
                )

    def on_stop(self) -> None:
        self.headers = {}

    @task
    def patient_visit(self) -> None:
        for step in (self._round, self._records):  # records do not depend on the booking
            with contextlib.suppress(FlowStopped):
                step()


@events.quitting.add_listener
def _write_outcomes(environment: Any, **_kwargs: Any) -> None:
    path = os.environ.get("LOAD_OUTCOMES_FILE")
    if path:
        with open(path, "w", encoding="utf-8") as handle:
            json.dump({"bookings": bookings, "failures": failures}, handle, indent=1)
