"""The hard constraints, one small function each: candidate + spec -> verdict with a reason.

A rule returns `None` when it does not apply (residency of a model we host ourselves), a passing
result with what it checked, or a failing one whose message a compliance officer or an
infrastructure engineer can accept as is. Facts the catalog does not know are never taken as a
yes: a rule that needs an unknown fact fails and says which fact is missing.

Rules are registered by name in `RULES`; add one with `@rule("name")`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from llmpick.catalog._schema import CatalogEntry, CommercialUse, Hosting, Status
from llmpick.constraints._candidates import ResolvedCandidate
from llmpick.costs import api_monthly_cost
from llmpick.spec import Spec

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class RuleResult:
    """The outcome of one rule for one candidate; `severity="warning"` never excludes."""

    rule: str
    passed: bool
    message: str
    severity: Severity = "error"
    details: dict[str, object] = field(default_factory=dict)

    @property
    def excludes(self) -> bool:
        return not self.passed and self.severity == "error"


Rule = Callable[[ResolvedCandidate, Spec], RuleResult | None]
RULES: dict[str, Rule] = {}


def rule(name: str) -> Callable[[Rule], Rule]:
    """Register a rule under `name` (the name shown in reports and JSON)."""

    def register(func: Rule) -> Rule:
        RULES[name] = func
        return func

    return register


def _ok(name: str, message: str, **details: object) -> RuleResult:
    return RuleResult(name, True, message, details=details)


def _fail(name: str, message: str, **details: object) -> RuleResult:
    return RuleResult(name, False, message, details=details)


def _no_entry(name: str, c: ResolvedCandidate) -> RuleResult:
    return RuleResult(
        name,
        False,
        f"{c.label} has no catalog entry, so this was not checked; set `catalog_id` on the "
        "candidate to the model it serves",
        severity="warning",
    )


# ----------------------------------------------------------------------------------- licence


@rule("licence")
def check_licence(c: ResolvedCandidate, spec: Spec) -> RuleResult | None:
    """Commercial use, user caps, and the licence families the organization allows."""
    if c.entry is None:
        return _no_entry("licence", c)
    lic = c.entry.licence
    wanted = spec.constraints.licence
    name = f"{c.entry.name} is under {lic.name}"
    if wanted.commercial_use_required and lic.commercial_use == CommercialUse.NO:
        return _fail("licence", f"{name}, which does not allow commercial use")
    users = wanted.monthly_active_users
    if lic.mau_cap is not None and users is not None and users > lic.mau_cap:
        return _fail(
            "licence",
            f"{name}, which needs a separate licence above {lic.mau_cap:,} monthly active "
            f"users; the spec expects {users:,}",
        )
    if wanted.allowed_families and lic.family not in wanted.allowed_families:
        allowed = ", ".join(wanted.allowed_families)
        return _fail("licence", f"{name} (family '{lic.family}'), not one allowed ({allowed})")
    if lic.family in wanted.forbidden_families:
        return _fail("licence", f"{name} (family '{lic.family}'), which the spec forbids")
    conditions = ", ".join(c.value for c in lic.conditions)
    if lic.commercial_use == CommercialUse.YES:
        use = "commercial use allowed"
    elif lic.commercial_use == CommercialUse.CONDITIONAL:
        use = "commercial use allowed with conditions"
    else:
        use = "no commercial use (not required here)"
    return _ok("licence", f"{name}: {use}" + (f" ({conditions})" if conditions else ""))


# --------------------------------------------------------------------------- data & privacy


def _hosting(c: ResolvedCandidate) -> Hosting | None:
    return c.entry.hosting if c.entry else None


@rule("data-leaves-premises")
def check_premises(c: ResolvedCandidate, spec: Spec) -> RuleResult | None:
    """Closed APIs are out when data may not leave, unless the vendor has a sourced
    on-premises offer. A vendor-hosted private cloud (single-tenant, VPC) is still the vendor's
    infrastructure, so it passes only when the spec says so
    (`constraints.data.accept_vendor_private_cloud`)."""
    data = spec.constraints.data
    if data.may_leave_premises:
        return None
    if c.deployment == "self-hosted":
        return _ok("data-leaves-premises", "self-hosted: prompts stay on our premises")
    hosting = _hosting(c)
    if hosting is not None and hosting.on_prem:
        where = hosting.source_of("on_prem")
        return _ok(
            "data-leaves-premises",
            f"the vendor offers an on-premises deployment (source: {where.source}, as of "
            f"{where.as_of})",
            source=where.source,
        )
    if hosting is not None and hosting.private_deployment:
        if data.accept_vendor_private_cloud:
            return _ok(
                "data-leaves-premises",
                "the vendor offers a private (single-tenant/VPC) deployment, which the spec "
                "accepts as our premises (constraints.data.accept_vendor_private_cloud)",
            )
        return _fail(
            "data-leaves-premises",
            "data may not leave our premises; the vendor offers only a private "
            "(single-tenant/VPC) cloud deployment, which runs on the vendor's infrastructure, "
            "and the spec does not accept that (constraints.data.accept_vendor_private_cloud "
            "is false); no sourced on-premises offer is in the catalog",
        )
    return _fail(
        "data-leaves-premises",
        "data may not leave our premises, and this model is only reachable as a vendor API "
        "with no on-premises or private deployment in the catalog",
    )


@rule("personal-data")
def check_pii(c: ResolvedCandidate, spec: Spec) -> RuleResult | None:
    """Personal data may go to a vendor only with a no-retention option or a GDPR DPA."""
    if not spec.constraints.data.contains_pii or c.deployment == "self-hosted":
        return None
    hosting = _hosting(c)
    if hosting is None:
        return _fail(
            "personal-data",
            "prompts contain personal data and the catalog has no "
            "facts on how this vendor retains data",
        )
    if hosting.zero_data_retention:
        return _ok("personal-data", "the vendor offers zero data retention")
    if hosting.gdpr_dpa:
        return _ok("personal-data", "the vendor signs a data processing addendum (DPA)")
    return _fail(
        "personal-data",
        "prompts contain personal data, and the catalog shows "
        "neither a zero-data-retention option nor a data processing addendum",
    )


@rule("residency")
def check_residency(c: ResolvedCandidate, spec: Spec) -> RuleResult | None:
    """Data must be processed in one of the allowed regions."""
    allowed = spec.constraints.data.allowed_regions
    if not allowed:
        return None
    if c.deployment == "self-hosted":
        return _ok("residency", "self-hosted: data is processed where we run it")
    hosting = _hosting(c)
    regions = [r.lower() for r in hosting.data_residency] if hosting else []
    if not regions:
        return _fail(
            "residency",
            f"data must stay in {', '.join(allowed)}; the catalog lists no "
            "data-residency option for this vendor",
        )
    matching = sorted(set(regions) & set(allowed))
    if matching:
        return _ok("residency", f"data can be kept in {', '.join(matching)}")
    return _fail(
        "residency",
        f"data must stay in {', '.join(allowed)}; the vendor offers {', '.join(regions)}",
    )


_COMPLIANCE_CHECKS: dict[str, tuple[str, Callable[[Hosting], bool | None]]] = {
    "hipaa": ("signs a HIPAA BAA", lambda h: h.hipaa_baa),
    "gdpr": ("offers a GDPR DPA", lambda h: h.gdpr_dpa),
    "soc2": ("holds SOC 2", lambda h: any(x.startswith("soc2") for x in h.certifications)),
    "iso27001": ("holds ISO 27001", lambda h: "iso27001" in h.certifications),
    "fedramp": ("is FedRAMP authorized", lambda h: any("fedramp" in x for x in h.certifications)),
    "pci-dss": ("is PCI DSS compliant", lambda h: "pci-dss" in h.certifications),
}


@rule("compliance")
def check_compliance(c: ResolvedCandidate, spec: Spec) -> RuleResult | None:
    """Each required certification must be shown by the vendor (our own, when self-hosted)."""
    required = spec.constraints.compliance
    if not required:
        return None
    if c.deployment == "self-hosted":
        return _ok("compliance", f"self-hosted: {', '.join(required)} rest on our own controls")
    hosting = _hosting(c)
    if hosting is None:
        return _fail(
            "compliance",
            f"requires {', '.join(required)}; the catalog has no compliance facts for this vendor",
        )
    missing = []
    for item in required:
        wording, shows = _COMPLIANCE_CHECKS[item]
        if not shows(hosting):
            missing.append(f"{item} (no evidence the vendor {wording})")
    if missing:
        return _fail("compliance", "missing: " + "; ".join(missing))
    return _ok("compliance", f"the vendor shows {', '.join(required)}")


# ------------------------------------------------------------------------- model properties


@rule("context-window")
def check_context(c: ResolvedCandidate, spec: Spec) -> RuleResult | None:
    """The context window must hold the longest prompt the use case needs."""
    need = spec.constraints.min_context_tokens
    if need <= 0:
        return None
    if c.entry is None:
        return _no_entry("context-window", c)
    have = c.entry.limits.context_window_tokens
    if have is None:
        return _fail("context-window", f"needs {need:,} tokens; the context window is unknown")
    if have < need:
        return _fail(
            "context-window", f"context window is {have:,} tokens; the spec needs {need:,}"
        )
    return _ok("context-window", f"context window {have:,} tokens >= {need:,} needed")


@rule("modalities")
def check_modalities(c: ResolvedCandidate, spec: Spec) -> RuleResult | None:
    """Every input modality the use case sends must be accepted."""
    wanted = set(spec.constraints.modalities)
    if wanted <= {"text"}:
        return None
    if c.entry is None:
        return _no_entry("modalities", c)
    missing = sorted(wanted - set(c.entry.limits.input_modalities))
    if missing:
        return _fail("modalities", f"does not accept {', '.join(missing)} input")
    return _ok("modalities", f"accepts {', '.join(sorted(wanted))}")


@rule("control")
def check_control(c: ResolvedCandidate, spec: Spec) -> RuleResult | None:
    """Holding or fine-tuning the weights rules out models whose weights are closed."""
    control = spec.needs.control
    if not (control.needs_weights_access or control.needs_fine_tuning):
        return None
    need = "access to the weights" if control.needs_weights_access else "fine-tuning by us"
    if c.open_weights:
        return _ok("control", f"open weights allow {need}")
    return _fail("control", f"the spec needs {need}; this model's weights are not published")


@rule("lifecycle")
def check_lifecycle(c: ResolvedCandidate, spec: Spec) -> RuleResult | None:
    """Retired models are out; deprecated ones get a warning with the shutdown date."""
    if c.entry is None:
        return None
    about = c.entry.about
    successor = f"; the vendor suggests {about.replacement}" if about.replacement else ""
    if about.status == Status.RETIRED:
        when = f" on {about.shutdown_date}" if about.shutdown_date else ""
        return _fail("lifecycle", f"retired by the vendor{when}{successor}")
    if about.status == Status.DEPRECATED:
        when = f"shuts down {about.shutdown_date}" if about.shutdown_date else "is deprecated"
        return RuleResult("lifecycle", False, f"{when}{successor}", severity="warning")
    return None


@rule("budget")
def check_budget(c: ResolvedCandidate, spec: Spec) -> RuleResult | None:
    """A vendor API whose list price at the projected volume exceeds the budget is out.

    Self-hosted costs depend on throughput at the SLO and are weighed in the decision instead.
    """
    budget = spec.needs.budget.usd_per_month
    if budget is None or c.deployment == "self-hosted":
        return None
    pricing = c.entry.pricing if c.entry else None
    if pricing is None:
        return RuleResult(
            "budget", False, "no list price in the catalog; cost unknown", severity="warning"
        )
    cost = api_monthly_cost(pricing, spec.needs.volume)
    per_day = spec.needs.volume.requests_per_day
    text = f"${cost.usd_per_month:,.0f}/month at {per_day:,.0f} requests/day"
    if cost.usd_per_month > budget:
        return _fail(
            "budget", f"{text}, over the ${budget:,.0f} budget", usd_per_month=cost.usd_per_month
        )
    return _ok(
        "budget", f"{text}, within the ${budget:,.0f} budget", usd_per_month=cost.usd_per_month
    )


def entry_summary(entry: CatalogEntry) -> str:
    """One line naming the model for tables."""
    kind = "open weights" if entry.open_weights else "API"
    return f"{entry.name} ({entry.vendor}, {kind})"
