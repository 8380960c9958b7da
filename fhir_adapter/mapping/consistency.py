"""Study-level facts the mapping states and the participants' rows contradict.

These are warnings, not row errors: the study's status is the mapping's statement about the
whole study, and the data only make it doubtful. Codes and definitions are R4's
research-study-status and research-subject-status value sets
(https://hl7.org/fhir/R4/valueset-research-study-status.html,
https://hl7.org/fhir/R4/valueset-research-subject-status.html).
"""

from __future__ import annotations

from collections import Counter

# Participants the study still examines, treats or follows.
ONGOING = ("on-study", "on-study-intervention", "on-study-observation", "follow-up")
# Participants who took part (registered, then left or finished).
ENROLLED = (*ONGOING, "off-study")
# Study statuses under which no participant is examined or treated any more.
_OVER = ("completed", "administratively-completed")
# Study statuses before any participant can have been registered.
_NOT_STARTED = ("in-review", "approved", "disapproved", "withdrawn")


def study_status_warnings(study_status: str, participants: Counter[str]) -> list[str]:
    """Sentences saying how ``study_status`` contradicts the participants' statuses.

    ``participants`` counts participants per ResearchSubject status. Counts and codes only:
    nothing here names a participant.
    """

    def listing(codes: tuple[str, ...]) -> tuple[int, str]:
        found = {code: participants[code] for code in codes if participants[code]}
        return sum(found.values()), ", ".join(f"{code} {n}" for code, n in found.items())

    warnings = []
    if study_status in _OVER:
        count, detail = listing(ONGOING)
        if count:
            warnings.append(
                f"study.status is '{study_status}' but {count} participant(s) are still on "
                f"study ({detail}); a {study_status} study examines and treats no one. Set "
                "study.status to what the data say (e.g. 'closed-to-accrual' while participants "
                "are followed) or check the participants' status column"
            )
    if study_status in _NOT_STARTED:
        count, detail = listing(ENROLLED)
        if count:
            warnings.append(
                f"study.status is '{study_status}' but {count} participant(s) were registered "
                f"({detail}); set study.status to what the data say"
            )
    if (
        study_status == "closed-to-accrual-and-intervention"
        and participants["on-study-intervention"]
    ):
        warnings.append(
            "study.status is 'closed-to-accrual-and-intervention' but "
            f"{participants['on-study-intervention']} participant(s) are on-study-intervention; "
            "set study.status to what the data say"
        )
    return warnings
