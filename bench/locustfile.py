"""Store staff on StoreCRM, for `make scale-test` (bench/scale.py): search, the 360° page, create a customer, log a
follow-up, book an appointment. Each simulated user signs in as one of the demo tenant's staff and spreads its requests over every web
process in SCALE_HOSTS. A 5xx is a failure named "5xx"; anything else unexpected is a failure too."""
from __future__ import annotations

import os
import random
import re
from datetime import date, timedelta

from locust import HttpUser, between, task

HOSTS = os.environ.get("SCALE_HOSTS", "http://127.0.0.1:5000").split(",")
TENANT = os.environ.get("SCALE_TENANT", "demo")
STAFF = os.environ.get("SCALE_STAFF", "owner@demo.storecrm.cn,manager@demo.storecrm.cn").split(",")
PASSWORD = os.environ.get("SCALE_PASSWORD", "demo-pass-2026")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
CUSTOMER = re.compile(r'/t/[a-z0-9-]+/customers/(\d+)"')
# the store select only (the owner select below it lists user ids, which are no store: last run's 15 × 422)
STORE_SELECT = re.compile(r'name="store_id".*?</select>', re.S)
OPTION = re.compile(r'<option value="(\d+)"')
SLOT = re.compile(r'name="starts_at" id="slot-\d+" value="([^"]+)"')
SEARCHES = ["138", "张", "王", "沪A", "LSV", "139", "李"]


class Staff(HttpUser):
    wait_time = between(0.5, 2.0)
    host = HOSTS[0]

    def _url(self, path: str) -> str:
        return random.choice(HOSTS) + f"/t/{TENANT}{path}"

    def _check(self, resp, name: str, ok=(200, 302, 303)):
        if resp.status_code >= 500:
            resp.failure(f"5xx {resp.status_code}")
        elif resp.status_code not in ok:
            resp.failure(f"{name}: {resp.status_code}")
        else:
            resp.success()

    def _get(self, path: str, name: str):
        with self.client.get(self._url(path), name=name, catch_response=True, allow_redirects=False) as resp:
            self._check(resp, name)
            return resp

    def _post(self, path: str, data: dict, name: str):
        with self.client.post(self._url(path), data=data, name=name, catch_response=True,
                              allow_redirects=False) as resp:
            self._check(resp, name)
            return resp

    def on_start(self):
        page = self.client.get(self._url("/login"), name="login page")
        token = CSRF.search(page.text).group(1)
        email = random.choice(STAFF)
        resp = self.client.post(self._url("/login"), data={"csrf_token": token, "login": email, "password": PASSWORD},
                                name="login", allow_redirects=False)
        if resp.status_code != 302:
            raise RuntimeError(f"login of {email} failed: {resp.status_code}")
        listing = self.client.get(self._url("/customers/"), name="customer list")
        self.customers = [int(i) for i in CUSTOMER.findall(listing.text)][:50] or [0]
        form = self.client.get(self._url("/customers/new"), name="new customer form")
        self.csrf = CSRF.search(form.text).group(1)
        select = STORE_SELECT.search(form.text)
        self.stores = OPTION.findall(select.group(0)) if select else []

    @task(5)
    def search(self):
        self._get(f"/search?q={random.choice(SEARCHES)}", "search")

    @task(5)
    def customer_360(self):
        self._get(f"/customers/{random.choice(self.customers)}", "customer 360")

    @task(2)
    def customer_list(self):
        self._get("/customers/", "customer list (count on the replica)")

    @task(2)
    def create_customer(self):
        mobile = f"+86137{random.randint(0, 99_999_999):08d}"
        resp = self._post("/customers/new", {"csrf_token": self.csrf, "kind": "person", "name": f"压测客户{mobile[-4:]}",
                                             "mobile": mobile, "store_id": random.choice(self.stores or ["1"]),
                                             "status": "active"}, "create customer")
        found = CUSTOMER.search(resp.headers.get("Location", "") + '"')
        if found:
            self.customers.append(int(found.group(1)))

    @task(2)
    def book_appointment(self):
        """The booking form for a customer on a day in the next fortnight, then one of its free times. Two staff
        taking the same time at once is the product working: the loser gets 422 with the next free times."""
        day = (date.today() + timedelta(days=random.randint(1, 14))).isoformat()
        customer = random.choice(self.customers)
        # any store the person works at (the demo's technicians and bays are at one of them; a store without them
        # simply has no free time, which is an answer too)
        query = f"customer_id={customer}&date={day}&store_id={random.choice(self.stores or [''])}"
        form = self._get(f"/scheduling/book?{query}", "booking form")
        slots = SLOT.findall(form.text)
        token = CSRF.search(form.text)
        if not slots or not token:
            return
        service = re.search(r'type="hidden" name="service_type_id" value="(\d+)"', form.text)
        with self.client.post(self._url(f"/scheduling/book?{query}"),
                              data={"csrf_token": token.group(1), "starts_at": random.choice(slots),
                                    "service_type_id": service.group(1) if service else ""},
                              name="book appointment", catch_response=True, allow_redirects=False) as resp:
            self._check(resp, "book appointment", ok=(302, 303, 422))

    @task(3)
    def follow_up(self):
        self._post(f"/customers/{random.choice(self.customers)}/interactions",
                   {"csrf_token": self.csrf, "kind": random.choice(["call", "visit", "message", "note"]),
                    "body": "电话回访：客户对上次保养满意，下月提醒更换机油。"}, "log follow-up")
