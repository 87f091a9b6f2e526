"""Listening quizzes from an episode's own audio: fill the gap you hear, and say who said it.

    quiz = lib.quizzes.generate(episode_id, seed=7, level="medium", count=10)
    for q in quiz.questions:  # play [q.clip_start, q.clip_end] of the episode's audio, show q.prompt and q.options
        ...
    lib.quizzes.record_answer("ana", quiz, quiz.questions[0].id, chosen=2)

Why it looks like this:
- A gap question is only made where the recogniser gave word timestamps, and its clip is cut at word boundaries (a
  word 2-6 words before the gap to a word 1-3 after), so the clip always holds the whole gapped word and never cuts a
  word in half. Imported transcripts without word timings get a clear refusal instead of clips that drift.
- Distractors must be wrong and still tempting. Tempting: they sound alike (edit distance on a small phonetic key,
  shared onset or rhyme), belong to the same rough part of speech (function words with function words, -ing with
  -ing, -ed, -ly, -s) and are about as frequent (ranks from the MiniLM vocabulary's order, a general English frequency
  proxy, extended with the library's own words). Wrong: never the answer in another spelling (case, punctuation,
  accents, plural/singular), never a homophone (same phonetic key: the audio could not tell them apart) and never a
  word of the same segment.
- Naive test-taking tricks must not work: a player who picks the option most similar in spelling to the others, or the
  longest option, should do no better than chance. The distractor set is chosen so that the answer's place in both
  orders is drawn at random (`bench/quiz.py` measures it).
- Levels change what is gapped (easy: frequent, short content words spoken slowly; hard: rarer and longer words, fast
  speech, two-word phrases) and how close the distractors sound (easy: further; hard: the closest sound-alikes).
- Generation is pure and deterministic: the same transcript, names, lexicon and seed give the same quiz.
"""

from podscope.quiz.generation import KINDS, generate_quiz
from podscope.quiz.lexicon import (
    FUNCTION_WORDS,
    Lexicon,
    build_lexicon,
    edit_distance,
    general_words,
    normal,
    singular,
    sound_key,
)
from podscope.quiz.quizzes import Quizzes
from podscope.quiz.records import DayProgress, EpisodeProgress, MissedWord, Progress, Question, Quiz, QuizResult

__all__ = [
    "FUNCTION_WORDS",
    "KINDS",
    "DayProgress",
    "EpisodeProgress",
    "Lexicon",
    "MissedWord",
    "Progress",
    "Question",
    "Quiz",
    "QuizResult",
    "Quizzes",
    "build_lexicon",
    "edit_distance",
    "general_words",
    "generate_quiz",
    "normal",
    "singular",
    "sound_key",
]
