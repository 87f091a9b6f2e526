"""People and voice profiles over a library: enrolment, matching, review, learning, unknown voices and privacy.

    people = lib.people
    people.enroll_speaker("Maya Chen", episode_id=3, label="SPEAKER_01")
    for item in people.review():                      # attributions waiting for a human
        print(item.attribution.person, item.attribution.tier, item.stretch.quote)
    people.confirm(item.attribution.speaker_id)

Every operation that changes a profile re-scores the whole library in the same transaction and records, per changed
attribution, why it changed; a new episode is matched on its own (`People.match_episode`). The rules (what a profile
may learn from, how tiers and safeguards work) are explained in `podscope.voices.profiles` and in the README's "Voice
profiles" section.
"""

from podscope.people.records import (
    Change,
    FlaggedExemplar,
    MonthlyTalk,
    PersonPage,
    ReviewItem,
    UnknownVoice,
    exemplar_dict,
    review_dict,
    status_line,
)
from podscope.people.service import ClipEmbedder, People

__all__ = [
    "Change",
    "ClipEmbedder",
    "FlaggedExemplar",
    "MonthlyTalk",
    "People",
    "PersonPage",
    "ReviewItem",
    "UnknownVoice",
    "exemplar_dict",
    "review_dict",
    "status_line",
]
