"""Goal texts for the multi-source sample, as therapists write them: per domain a small bank of
goals, each with what every GAS level means for that goal (-2 the usual baseline, 0 the expected
outcome, +2 much more than expected; Kiresuk & Sherman 1968), and the trial-based goals of
speech children with their target. ``gas_goal`` and ``trial_goal`` pick one deterministically."""

from __future__ import annotations

# domain -> [(goal text, (-2, -1, 0, +1, +2)), ...]; at least 4 per domain, so that a child's goals
# of one domain (goal numbers 1-4) never share a text
GAS_BANK: dict[str, list[tuple[str, tuple[str, str, str, str, str]]]] = {
    "social": [
        ("Takes turns in a 2-person game with one prompt",
         ("does not take turns", "takes turns with an adult prompting each turn",
          "takes turns in a 2-person game with one prompt", "takes turns in a 2-person game without prompts",
          "takes turns with a peer without prompts")),
        ("Greets a familiar adult on arrival",
         ("does not respond to a greeting", "looks up when greeted", "greets a familiar adult when prompted once",
          "greets a familiar adult without a prompt", "greets familiar adults and peers without a prompt")),
        ("Joins a small-group activity for 5 minutes",
         ("leaves the group within a minute", "stays 2 minutes with an adult beside them",
          "stays in a small-group activity for 5 minutes", "stays 5 minutes and joins in once",
          "stays 10 minutes and joins in without prompts")),
        ("Asks a peer to play",
         ("plays alone when peers are near", "watches peers play", "asks a peer to play with an adult's model",
          "asks a peer to play with a gestural prompt", "asks a peer to play without prompts")),
    ],
    "communication": [
        ("Uses 2-word phrases to request",
         ("requests by reaching or crying", "requests with single words", "uses 2-word phrases to request with a model",
          "uses 2-word phrases to request without a model", "uses 3-word phrases to request")),
        ("Answers simple 'what' and 'where' questions",
         ("does not answer questions", "answers 1 in 5 questions", "answers 3 in 5 questions with a picture cue",
          "answers 3 in 5 questions without cues", "answers 5 in 5 questions without cues")),
        ("Follows 2-step instructions",
         ("does not follow instructions", "follows 1-step instructions with a gesture",
          "follows 2-step instructions with one repetition", "follows 2-step instructions first time",
          "follows 3-step instructions first time")),
        ("Tells a short story from pictures",
         ("names single pictures only", "describes one picture in a sentence",
          "tells a 3-picture story with prompts", "tells a 3-picture story without prompts",
          "tells a 5-picture story with linking words")),
    ],
    "emotional regulation": [
        ("Names their feeling when upset",
         ("cannot name the feeling", "points to a feelings card with help", "names the feeling with a choice of two",
          "names the feeling without a choice", "names the feeling and what caused it")),
        ("Uses a calming strategy when worried",
         ("no strategy used", "uses a strategy with adult support each step",
          "uses a calming strategy with one reminder", "uses a calming strategy without a reminder",
          "chooses and uses a strategy in new places")),
        ("Returns to the activity within 5 minutes after upset",
         ("does not return to the activity", "returns after more than 15 minutes",
          "returns to the activity within 5 minutes", "returns within 2 minutes",
          "stays with the activity when upset")),
        ("Faces a feared situation on the step plan",
         ("refuses the first step", "does the first step with the therapist",
          "does the agreed step with the therapist nearby", "does the agreed step alone",
          "does the next step alone")),
    ],
    "motor": [
        ("Cuts along a thick line with scissors",
         ("snips without a line", "cuts across paper without following a line",
          "cuts along a thick line staying within 1 cm", "cuts along a thin line within 1 cm",
          "cuts out a simple shape")),
        ("Catches a large ball from 2 metres",
         ("does not try to catch", "traps the ball against the body",
          "catches a large ball from 2 metres 3 in 5 times", "catches from 3 metres 3 in 5 times",
          "catches a small ball from 2 metres")),
        ("Writes their first name legibly",
         ("scribbles", "traces their name", "writes their first name legibly from a model",
          "writes their first name legibly from memory", "writes first and last name legibly")),
        ("Hops on one foot 5 times",
         ("cannot stand on one foot", "stands on one foot for 3 seconds", "hops on one foot 5 times",
          "hops 5 times on each foot", "hops forward 10 times on each foot")),
    ],
    "self-care": [
        ("Puts on a coat with help with the zip only",
         ("does not help with dressing", "pushes arms through with full help",
          "puts on a coat with help with the zip only", "puts on and zips a coat without help",
          "chooses the right coat for the weather and puts it on")),
        ("Brushes teeth for 2 minutes",
         ("refuses the toothbrush", "brushes for a few seconds with hand-over-hand help",
          "brushes for 2 minutes with a visual timer", "brushes for 2 minutes without prompts",
          "brushes twice a day without reminders")),
        ("Uses a spoon with little spilling",
         ("eats with fingers only", "uses a spoon with hand-over-hand help", "uses a spoon with a little spilling",
          "uses a spoon without spilling", "uses a fork and spoon without spilling")),
        ("Follows a 4-step morning picture routine",
         ("does not follow the routine", "does 1 step with adult help", "does 4 steps with one prompt each",
          "does 4 steps with one prompt in all", "does the routine without the pictures")),
    ],
    "sensory": [
        ("Tolerates messy play for 5 minutes",
         ("refuses to touch messy materials", "touches with one finger", "joins messy play for 5 minutes",
          "joins messy play for 10 minutes", "starts messy play by choice")),
        ("Stays in a noisy room for 10 minutes",
         ("leaves a noisy room at once", "stays 2 minutes with ear defenders",
          "stays in a noisy room for 10 minutes with ear defenders", "stays 10 minutes without ear defenders",
          "joins in an activity in a noisy room")),
        ("Accepts hair brushing",
         ("refuses hair brushing", "accepts 3 strokes with a warning", "accepts hair brushing with a countdown",
          "accepts hair brushing without a countdown", "brushes own hair")),
        ("Uses a sensory break when overwhelmed",
         ("no break taken", "takes a break when an adult leads them", "asks for a break with a card",
          "asks for a break in words", "takes a break and returns by themselves")),
    ],
    "play": [
        ("Plays with one toy for 5 minutes",
         ("moves between toys every few seconds", "plays with one toy for 1 minute",
          "plays with one toy for 5 minutes", "plays with one toy for 10 minutes",
          "plays with one toy for 10 minutes and shows an adult")),
        ("Uses pretend play with a doll or figure",
         ("no pretend play", "copies one pretend action", "uses 2 pretend actions in a row",
          "makes up a short pretend sequence", "leads a pretend story with an adult")),
        ("Plays a simple board game to the end",
         ("leaves the game at once", "plays 2 turns", "plays a simple board game to the end with prompts",
          "plays to the end without prompts", "plays to the end and accepts losing")),
        ("Builds a 6-block tower",
         ("knocks blocks over", "stacks 2 blocks", "builds a 6-block tower", "builds a 10-block tower",
          "copies a bridge of blocks")),
    ],
    "behaviour": [
        ("Waits for a turn for 1 minute",
         ("grabs or leaves at once", "waits 10 seconds with an adult holding the item",
          "waits for a turn for 1 minute with a visual timer", "waits 1 minute without a timer",
          "waits 3 minutes without a timer")),
        ("Moves between activities with a 2-minute warning",
         ("refuses changes of activity", "moves with full adult support",
          "moves between activities with a 2-minute warning", "moves with a warning and no support",
          "moves without a warning")),
        ("Keeps hands to self in group time",
         ("hits or pushes in most group times", "keeps hands to self with an adult beside them",
          "keeps hands to self in group time with one reminder", "keeps hands to self without reminders",
          "keeps hands to self and helps a peer")),
        ("Accepts 'no' without a tantrum",
         ("tantrum each time", "tantrum of under 5 minutes", "accepts 'no' with an offered choice",
          "accepts 'no' without a choice", "accepts 'no' and suggests another activity")),
    ],
    "feeding": [
        ("Tries a new food by touching it to the lips",
         ("refuses a new food on the plate", "tolerates a new food on the plate",
          "touches a new food to the lips", "licks or tastes a new food", "eats a bite of a new food")),
        ("Eats a meal seated for 10 minutes",
         ("leaves the table at once", "sits for 3 minutes", "eats a meal seated for 10 minutes",
          "sits for 15 minutes", "sits through the family meal")),
        ("Drinks from an open cup",
         ("drinks from a bottle only", "sips from an open cup with help", "drinks from an open cup with little spilling",
          "drinks from an open cup without spilling", "pours and drinks without help")),
        ("Chews soft solids",
         ("swallows purees only", "mouths soft solids", "chews soft solids with prompts",
          "chews soft solids without prompts", "chews firmer foods")),
    ],
    "cognition": [
        ("Sorts objects by colour",
         ("does not sort", "matches 2 identical objects", "sorts objects by 2 colours",
          "sorts objects by 4 colours", "sorts by colour and by shape")),
        ("Completes a 12-piece puzzle",
         ("does not try a puzzle", "completes a 4-piece puzzle", "completes a 12-piece puzzle with help",
          "completes a 12-piece puzzle alone", "completes a 24-piece puzzle alone")),
        ("Recalls 3 items after a short delay",
         ("recalls none", "recalls 1 item", "recalls 3 items with a cue", "recalls 3 items without a cue",
          "recalls 5 items without a cue")),
        ("Counts objects up to 10",
         ("does not count", "counts to 3 with help", "counts objects up to 10 with pointing help",
          "counts objects up to 10 alone", "counts objects up to 20 alone")),
    ],
}

# trial-based goals of speech children: goal text, baseline and target (10 trials a session)
TRIAL_BANK: list[str] = [
    "Produces /s/ at the start of words in structured play",
    "Produces /k/ in words in picture naming",
    "Produces /f/ at the end of words in sentences",
    "Produces /l/ blends in words in structured play",
]


def gas_goal(domain: str, child_id: str, goal_id: str) -> tuple[str, tuple[str, str, str, str, str]] | None:
    """The goal text and its five level descriptions (-2 .. +2) for this child's goal (None for
    a domain without a bank)."""
    bank = GAS_BANK.get(domain)
    if not bank:
        return None
    return bank[(int(child_id[1:]) + int(goal_id.split("-")[-1])) % len(bank)]


def trial_goal(child_id: str) -> str:
    """The trial-based goal's text for this child."""
    return TRIAL_BANK[(int(child_id[1:]) // 4) % len(TRIAL_BANK)]
