"""Draft the participants section: subject, sex, birth date, arm, enrolment, status, end,
end reason and stratum from the participants table's headers and cells.

Status is the study's to decide even when a column holds it (R4's ``withdrawn`` means before
registration); with no status column the comment gives the two usual answers, a constant or
an expression over the end date.
"""

from __future__ import annotations

from fhir_adapter.drafting import procedure_rows
from fhir_adapter.drafting.fields import Table, pick, reference
from fhir_adapter.drafting.sections import (
    CODES,
    DATE_OR_YEAR,
    DATES,
    Context,
    set_field,
    start_section,
)
from fhir_adapter.drafting.yamltext import TODO, Block


def participants(table: Table, ctx: Context) -> Block:
    block = start_section(table)
    t = ctx.targets
    set_field(
        block,
        "sex",
        reference(pick(table, ("sex", "gender"), CODES), blank_ok=True, targets=t["sex"]),
    )
    set_field(
        block,
        "birth_date",
        reference(pick(table, ("dob", "birth", "yob", "born"), DATE_OR_YEAR), blank_ok=True),
    )
    arm = pick(
        table,
        (
            "arm",
            "group",
            "route",
            "allocation",
            "randomisation",
            "randomization",
            "cohort",
            "treatment",
        ),
        CODES,
    )
    if arm is not None and arm.labels:
        # Labels of a choice list ('Pancreatic artery'), not codes: the study names its arms.
        arms = Block()
        for label in arm.codes:
            arms.add(label, TODO)
        arm_block = Block()
        arm_block.add("column", arm.name)
        arm_block.add("map", arms, "each label to the code of one of study.arms")
        block.add("arm", arm_block)
    else:
        set_field(block, "arm", reference(arm, blank_ok=False), note="the study.arms codes above")
    enrolled = (
        "consent",
        "enrolment",
        "enrollment",
        "enrol",
        "enroll",
        "registration",
        "inclusion",
        "randomisation",
        "randomization",
        "start",
    )
    set_field(block, "enrolled", reference(pick(table, enrolled, DATES), blank_ok=False))
    status_column = pick(table, ("status", "disposition"), CODES)
    end = pick(
        table,
        ("end", "exit", "withdrawal", "discontinuation", "stop", "last"),
        DATES,
        avoid=("reason",),
    )
    meaning = (
        "R4 research-subject-status: 'withdrawn' means before registration; a participant "
        "treated and followed who then left is 'off-study' (docs/mapping.md)"
    )
    if status_column is None:
        block.add("status", TODO, f"{_no_status(end.name if end else None)}; {meaning}")
    else:
        status = reference(status_column, blank_ok=False, targets=t["status"])
        set_field(block, "status", status, note=meaning)
    if end is not None:
        set_field(block, "end", reference(end, blank_ok=True))
    reason = pick(table, ("reason",), CODES)
    if reason is not None:
        set_field(block, "end_reason", reference(reason, blank_ok=True, targets=t["end_reasons"]))
    stratum = pick(table, ("stratum", "strata", "stratification"), ("code", "text"))
    if stratum is not None:
        block.add(
            "stratum",
            stratum.name,
            "written as read; a map from the export's wording to the study's labels keeps it "
            "in a de-identified push (docs/mapping.md, 'Participant stratum (treatment group)')",
        )
    return block


def _no_status(end: str | None) -> str:
    """What to write for a status the export does not have."""
    cookbook = "docs/mapping.md, 'Defaults and constants: what the site does not record'"
    if end is None:
        return f"the export has no status column: a constant, e.g. {{value: on-study}} ({cookbook})"
    return (
        "the export has no status column: a constant, e.g. {value: on-study}, or from the end "
        f"date, e.g. {{expression: \"iif({procedure_rows.name(end)}.exists(), 'off-study', "
        f"'on-study')\"}} ({cookbook})"
    )
