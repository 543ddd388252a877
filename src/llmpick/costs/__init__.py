"""What each candidate costs per month at the spec's volume: API bills and self-hosting."""

from __future__ import annotations

from llmpick.costs._api import DAYS_PER_MONTH, ApiCost, api_monthly_cost

__all__ = ["DAYS_PER_MONTH", "ApiCost", "api_monthly_cost"]
