"""What the dealership shows on a lead's page (the core's `register_lead_panels`): the car model of interest, the
lead's test drives and its sales contracts, with the way to book or draft the next one."""
from __future__ import annotations

from . import contracts, sales


def context(lead) -> dict:
    return {"drives": sales.test_drives_of_lead(lead.id), "contracts": contracts.contracts_of_lead(lead.id),
            "drive_states": sales.DRIVE_STATE_LABELS, "contract_states": contracts.STATE_LABELS}
