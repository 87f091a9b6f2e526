"""Benchmark corpora with exact references: synthetic flite conversations and stitched real recordings.

Why: the benchmarks (DER, WER, speaker counting, voice recognition across episodes) need conversations whose reference
is exact and whose audio can be rebuilt from the repository alone. Two kinds:

* `synthetic_conversations`: over three minutes each of flite dialogue with 2, 3 and 4 speakers (flite ships only four
  distinct voices), turns from under a second to about fifteen seconds, per-speaker loudness differences and a few short
  overlaps. Clean audio and known words, so errors are the pipeline's.
* `real_conversations`: real read speech from `tests/data` (LibriSpeech test-other: five speakers, no transcripts;
  SpeechBrain's ASR sample: two speakers, transcripts for four sentences each) stitched into conversations of 2 to 6
  speakers. Real voices and room noise, so speaker embeddings are tested on more than four synthetic voices.

Every conversation is written as <name>.wav with <name>.rttm, <name>.ref.txt and <name>.ref.json next to it, and is
reused on the next call when nothing changed. Speaker labels name the voice ("flite-awb", "ls-1688", "sb-spk1"), so
the same label in two conversations is the same voice. Run `python bench/corpus.py [out_dir]` to build and list them.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from podscope.synth import Conversation, Line, build_conversation, flite_voices

__all__ = ["DATA_DIR", "real_conversations", "synthetic_conversations"]

DATA_DIR = Path(__file__).resolve().parents[1] / "tests" / "data"
LIBRISPEECH_DIR = DATA_DIR / "librispeech-test-other"
SPEECHBRAIN_DIR = DATA_DIR / "speechbrain-asr"

# ------------------------------------------------------------------------------------------------ dialogue text
# One topic per synthetic conversation, one sentence per line. No digits: recognisers write numbers differently.

_LIGHTHOUSES = """
I have always been fascinated by lighthouses, ever since I was a child on the coast.
What fascinates you about them, the buildings or the people who lived in them?
Mostly the people, because being a lighthouse keeper was a strange and lonely job.
The keeper had to climb the tower every evening at sunset and light the lamp.
Before electricity, the lamp burned whale oil, and later paraffin, and it needed constant care.
The wick had to be trimmed through the night, or the flame would smoke and blacken the glass.
That is where the nickname wickie comes from, which is what sailors called the keepers.
The real breakthrough was the Fresnel lens, invented by a French physicist.
Instead of one huge heavy lens, it uses rings of glass prisms arranged like a beehive.
Those prisms bend the light from a small flame into a single powerful beam.
A good lens could throw the light far out to sea on a clear night.
And each lighthouse had its own pattern of flashes, so sailors could tell them apart.
Some flashed quickly, some slowly, and some were steady with an occasional eclipse.
A captain would count the flashes, check the chart, and know exactly which headland he was passing.
Fog was the great enemy, because even the brightest beam disappears in thick fog.
So many stations also had a foghorn, and some of them were loud enough to rattle windows for miles.
People who lived nearby did not always appreciate the foghorn at three in the morning.
I read that some families lived on rocks so small that the children were tied to a rope when they played outside.
Supplies came by boat, and in winter storms the boat sometimes could not land for weeks.
Keepers kept a logbook with the weather, the ships they saw, and every repair they made.
Those logbooks are now a treasure for historians and for climate scientists too.
They give a record of storms and temperatures going back a very long time.
Most lighthouses today are automatic, with electric lamps, solar panels and a visit from a technician now and then.
Satellite navigation has made them less important, but ships still rely on them when the electronics fail.
Several old keepers' cottages have been turned into holiday homes.
You can sleep at the foot of the tower and listen to the sea all night.
I stayed in one on a small island, and the silence at night was extraordinary.
There was no phone signal, no traffic, just the wind and the gulls.
The tower had a spiral staircase with more steps than I could count.
At the top, the old brass fittings were polished until they shone like gold.
The volunteer who showed us around said polishing brass was the keeper's never ending task.
An inspector would arrive without warning and run a white glove along the rails.
If the glove came away dirty, the keeper could lose his job.
It sounds like an incredibly strict life, but many keepers stayed for decades.
Some of them wrote poetry, painted, or built ships in bottles during the long winter nights.
I think the appeal was a kind of purpose, because your light kept strangers alive.
That is a lovely way to put it, a job whose whole point was looking after people you would never meet.
"""

_BEEKEEPING = """
Let's talk about keeping bees in the city, which has become surprisingly popular.
When I first heard about rooftop hives, I assumed the bees would starve among the concrete.
It turns out cities can be wonderful places for bees, with gardens, parks, street trees and window boxes.
Many cities have a longer flowering season than the countryside, where fields are often sprayed and mown.
A single colony can contain tens of thousands of workers in the middle of summer.
And almost all of them are female, which surprises a lot of people.
The workers do everything, cleaning the hive, feeding the larvae, building comb and collecting nectar.
The drones have one job, which is to mate with a queen from another colony, and then they die.
The queen can lay well over a thousand eggs a day at the height of the season.
What does a beginner actually need to get started?
You need a hive, a protective suit, a veil, gloves, a smoker and a hive tool for prying the frames apart.
The smoker calms the bees, because smoke masks their alarm signal and makes them eat honey.
A bee with a full stomach is much less inclined to sting.
Even so, every beekeeper gets stung sooner or later, and you learn to stay calm about it.
The biggest threat to colonies is a tiny parasitic mite called varroa.
It feeds on the bees and spreads viruses, and an untreated colony can collapse within a couple of years.
Beekeepers check their mite levels regularly by washing a sample of bees in alcohol or sugar.
Another worry is swarming, which is how colonies reproduce.
The old queen leaves with about half of the workers, and they hang in a big buzzing cluster on a branch.
In a city that cluster might end up on a bus stop or a lamp post, and people panic.
Actually a swarm is usually very gentle, because the bees have no home to defend.
Local beekeeping clubs run swarm collection services, and members love getting those calls.
You simply shake the cluster into a box, and if the queen is inside, the rest will follow.
The honey from city hives tastes completely different from one street to the next.
Linden trees give a light minty honey, while ivy in the autumn gives something thick and strong.
Some people say eating local honey helps with hay fever, but the evidence is weak.
I would not promise anyone a cure, but it certainly tastes better than supermarket honey.
There is a debate about whether there are now too many honey bee hives in some cities.
Wild bees and bumblebees compete for the same flowers, and they are often in more trouble than honey bees.
So some ecologists argue that planting flowers helps more than adding another hive.
I think both can be true, as long as beekeepers also plant for the wild pollinators.
The most magical moment for me is opening the hive on a warm afternoon.
The smell of wax and honey comes up, and there is that steady contented hum.
You learn to read the colony, whether it is calm, hungry, queenless or preparing to swarm.
It is a bit like learning a language that nobody ever taught you.
"""

_COFFEE = """
Today we are talking about coffee, and specifically what happens when coffee beans are roasted.
Most people never see a green coffee bean, which is pale, hard and smells a bit like grass.
Roasting turns that grassy seed into something with hundreds of aroma compounds.
The first thing that happens in the roaster is drying, as the water inside the bean evaporates.
Then the beans turn yellow and start to smell like toasted bread.
That is the beginning of the Maillard reaction, the same chemistry that browns a steak or a loaf.
Sugars and amino acids combine into a huge range of new flavours.
At some point you hear first crack, which sounds a lot like popcorn.
Steam and gas build up inside the bean until the structure breaks open.
A light roast is stopped shortly after first crack, and it keeps a lot of the fruit and acidity.
If you keep going, you reach second crack, and the oils start to come to the surface.
Dark roasts taste more of the roast itself, bitter chocolate, smoke and caramel.
Is it true that a light roast has more caffeine than a dark roast?
The difference is small and depends on whether you measure by weight or by scoop.
Dark beans are lighter and bigger, so a scoop of them contains slightly less coffee.
Honestly, the brewing method matters far more for the caffeine in your cup.
Let's talk about espresso for a moment, because it is the most demanding method.
Hot water is forced through a tightly packed puck of coffee at high pressure.
The whole shot takes less than half a minute, so tiny changes make a big difference.
A shot that runs too fast tastes sour and watery, and a shot that runs too slowly tastes harsh.
Baristas adjust the grind several times a day, because humidity changes how the coffee behaves.
And then there is milk, which is a whole science of its own.
Steaming milk stretches the proteins around tiny bubbles, which creates that glossy microfoam.
If the milk gets too hot, it loses its sweetness and starts to smell cooked.
Freshness is another big topic, because roasted beans keep releasing carbon dioxide for days.
That is why good coffee bags have a little one way valve on the front.
If you brew too soon after roasting, the gas bubbles up and the extraction is uneven.
If you wait too long, the aromas fade and the coffee tastes flat and papery.
Grinding is where many home brewers lose the most flavour.
A cheap blade grinder makes a mixture of dust and boulders, and they extract at different speeds.
A burr grinder crushes the beans to a much more even size.
The dust over extracts and turns bitter while the big pieces under extract and taste sour.
So your cup ends up bitter and sour at the same time, which is the worst of both worlds.
For a pour over, you want something like coarse sand, and for espresso, something close to flour.
Water matters too, because coffee is almost entirely water.
Very hard water can make coffee taste chalky, and very soft water can make it thin and sharp.
Some enthusiasts mix their own brewing water from distilled water and mineral salts.
That sounds like a lot of effort for a morning cup.
It is, and I would never ask a beginner to start there.
My advice is simple: buy freshly roasted beans, grind them just before brewing, and weigh everything.
Once you weigh the coffee and the water, you can change one thing at a time and taste the difference.
That is really the secret, treating each cup like a small experiment.
"""

_GLACIERS = """
I recently spent a season on a research station next to a glacier, studying how the ice moves.
Most people imagine a glacier as a frozen block, but it flows like an extremely thick river.
The ice deforms under its own weight and slides over the rock beneath it.
In a fast glacier, the front can advance several meters in a single day.
You can hear it moving, too, with deep cracks and groans, especially at night.
How do you actually measure the movement of something so huge?
We put satellite receivers on poles drilled into the ice, and they record their position all day.
From space, radar satellites compare images taken weeks apart and track the crevasses.
Together those measurements give a map of the whole glacier's speed.
One surprise for me was how much water flows underneath the ice in summer.
Meltwater pours down vertical shafts called moulins and reaches the bed of the glacier.
That water acts like a lubricant and can make the ice speed up for a few weeks.
Later in the summer, the water carves efficient channels, and the glacier slows down again.
Living on the ice must have been hard work.
It was cold, obviously, but the bigger problem was the constant daylight.
The sun never set, so our bodies had no idea when to sleep.
We kept strict routines, with meals at the same time and blackout curtains in the tents.
Some of the ice we walked on had fallen as snow centuries ago.
Every evening we melted snow for drinking water, which took far longer than you would expect.
And the food was mostly pasta, chocolate and soup, because you burn so much energy in the cold.
Safety was taken very seriously, because crevasses can be hidden under a thin bridge of snow.
We always travelled roped together, and everyone practised rescuing someone from a crevasse.
I hope you never needed that practice for real.
Once, a colleague broke through up to his waist, and the rope held him easily.
It was frightening for about ten seconds and funny for the rest of the season.
The ice itself is an archive of the past climate.
Snow falls, gets buried, and slowly turns into ice with tiny bubbles of ancient air inside.
By drilling ice cores, scientists can measure what the atmosphere contained long before thermometers existed.
The deepest cores from Antarctica reach back hundreds of thousands of years.
And the message from those cores is clear: the current warming is unusually fast.
Glaciers all over the world are retreating, from the Alps to the Andes.
For many valleys that matters a lot, because glaciers store water in winter and release it in the dry season.
When the glacier is gone, farmers and cities downstream lose that natural reservoir.
What stays with you most, now that you are home?
The colours, honestly, the blue inside a crevasse is unlike anything I have seen anywhere else.
It is the deepest, clearest blue, and it seems to glow from inside the ice.
I hope people can still see it in fifty years, and not only in photographs.
"""

_MAPS = """
Our topic today is the history of maps, which is really the history of how people saw the world.
The oldest maps we know of were scratched into clay tablets or painted on cave walls.
They showed rivers, fields and settlements, and sometimes the heavens as well.
Ancient Greek geographers already knew the earth was round.
One of them even estimated its size by measuring shadows in two different cities at noon.
His estimate was remarkably close, which still amazes me.
Medieval European maps were often more about faith than about navigation.
Jerusalem sat at the centre, and the edges were decorated with monsters and strange peoples.
Meanwhile sailors in the Mediterranean used practical charts called portolans.
They were covered in lines radiating from compass roses, so a pilot could follow a bearing from port to port.
Then came the age of exploration, and suddenly map makers had whole new coastlines to draw.
Printing changed everything, because a map could suddenly be copied exactly instead of by hand.
Before that, every hand drawn copy introduced new mistakes, and errors spread from map to map.
Some mistakes lasted for centuries, like the belief that California was an island.
Map makers copied each other so faithfully that the island kept appearing long after explorers knew better.
There were also deliberate errors, like invented streets that map publishers used to catch copycats.
If a rival's map showed your fake street, you had proof they had copied you.
Occasionally a fake place became real, because people went looking for it and built something there.
I love that, a town that exists because a map said it did.
Sea charts had their own traditions, with soundings showing the depth of the water wherever a ship had measured it.
Blank areas were just as important, because they told the captain that nobody had checked.
The big problem was always the same: how do you show a round planet on a flat sheet?
Every projection distorts something, whether it is shape, area, distance or direction.
The famous Mercator projection keeps angles correct, which is perfect for sailing by compass.
But it makes the land near the poles enormous, so Greenland looks as big as Africa.
Africa is actually many times larger than Greenland.
When schoolchildren learn that, they usually feel a bit cheated.
Another great challenge was longitude, knowing how far east or west you were.
Latitude is easy, you can read it from the height of the sun or the pole star.
Longitude needs an accurate clock, because the earth turns at a steady rate.
A carpenter and clockmaker called John Harrison spent decades building a clock that worked at sea.
His marine chronometer finally let ships fix their position reliably.
Surveying on land was just as heroic, with teams measuring triangles across entire countries.
They hauled heavy instruments up mountains and waited days for clear weather.
Some of those surveys were so accurate that modern satellites only made small corrections.
Today the map in your pocket updates itself, and it knows where you are to within a few steps.
That convenience has a cost, because we no longer build a mental map of our surroundings.
Studies suggest that people who follow turn by turn directions remember much less of the route.
I still like to look at a paper map before a trip, just to get the shape of the place in my head.
Maps also shape what we consider important, because someone always decides what to leave out.
An old colonial map might show every railway and mine but not a single village name.
So a map is never just a picture of the world, it is an argument about it.
That is a good place to end, with a map as an argument.
"""

# Short turns (about a second or less) spoken between the longer ones.
_SHORT_TURNS = (
    "Right.",
    "Exactly.",
    "Yes, absolutely.",
    "I see what you mean.",
    "That is fascinating.",
    "Really? I had no idea.",
    "Go on.",
    "Sure, that makes sense.",
    "Wow, that is incredible.",
    "Hmm, interesting.",
    "I agree with that.",
    "That surprises me.",
    "Fair enough.",
    "Okay.",
    "Oh, I love that.",
    "Good point.",
)


def _sentences(block: str) -> list[str]:
    return [s.strip() for s in block.strip().splitlines() if s.strip()]


@dataclass(frozen=True)
class _SynthSpec:
    name: str
    voices: tuple[str, ...]
    topic: str
    seed: int
    overlap_prob: float


_SYNTH_SPECS = (
    _SynthSpec("flite-2spk-lighthouses", ("awb", "slt"), _LIGHTHOUSES, 101, 0.0),
    _SynthSpec("flite-2spk-beekeeping", ("rms", "kal16"), _BEEKEEPING, 102, 0.12),
    _SynthSpec("flite-3spk-coffee", ("awb", "rms", "slt"), _COFFEE, 103, 0.08),
    _SynthSpec("flite-3spk-glaciers", ("slt", "kal16", "rms"), _GLACIERS, 104, 0.0),
    _SynthSpec("flite-4spk-maps", ("awb", "rms", "slt", "kal16"), _MAPS, 105, 0.2),
)


def _dialogue(spec: _SynthSpec) -> list[Line]:
    """Deal the topic's sentences out as turns of one to three sentences, each to a different speaker than the last,
    with short turns from a listener now and then. Seeded, so the same spec always gives the same lines."""
    rng = random.Random(spec.seed)
    speakers = [f"flite-{v}" for v in spec.voices]
    voice = {f"flite-{v}": f"flite:{v}" for v in spec.voices}
    short = list(_SHORT_TURNS)
    rng.shuffle(short)
    sentences = _sentences(spec.topic)
    lines: list[Line] = []
    previous: str | None = None
    i = 0
    while i < len(sentences):
        speaker = rng.choice([s for s in speakers if s != previous])
        count = rng.choice((1, 1, 2, 2, 2, 3))
        lines.append(Line(speaker, " ".join(sentences[i : i + count]), voice[speaker]))
        i += count
        previous = speaker
        if short and i < len(sentences) and rng.random() < 0.3:
            listener = rng.choice([s for s in speakers if s != speaker])
            lines.append(Line(listener, short.pop(), voice[listener]))
            previous = listener
    return lines


def synthetic_conversations(out_dir: Path, *, cache_dir: Path | None = None) -> list[Conversation]:
    """Five flite conversations of three minutes or more: two with 2 speakers, two with 3, one with 4 (all four
    distinct flite voices), with speaker loudness differing by a few dB and, in three of them, short overlaps."""
    installed = set(flite_voices())
    conversations = []
    for spec in _SYNTH_SPECS:
        missing = [v for v in spec.voices if v not in installed]
        if missing:
            raise RuntimeError(f"{spec.name} needs the flite voices {missing}, which are not installed")
        rng = random.Random(spec.seed)
        gains = {f"flite-{v}": round(rng.uniform(-4.0, 2.0), 1) for v in spec.voices}
        conversations.append(
            build_conversation(
                _dialogue(spec),
                out_dir / f"{spec.name}.wav",
                gap=(0.15, 1.0),
                overlap_prob=spec.overlap_prob,
                seed=spec.seed,
                gain_db=gains,
                noise_db=-62.0,
                cache_dir=cache_dir,
            )
        )
    return conversations


# ------------------------------------------------------------------------------------------------ real recordings


def _librispeech(speaker: str) -> list[tuple[str, Path, str]]:
    files = sorted((LIBRISPEECH_DIR / speaker).glob("*.flac"))
    if not files:
        raise FileNotFoundError(f"no LibriSpeech recordings in {LIBRISPEECH_DIR / speaker}")
    return [(f"ls-{speaker}", f, "") for f in files]


def _speechbrain(speaker: str, *, transcribed_only: bool = False) -> list[tuple[str, Path, str]]:
    """spk1/spk2 sentences with their transcript from ASR_train.json (a dict keyed by file stem, text in "wrd";
    sentences five and six have no entry, so their text is "")."""
    texts: dict[str, str] = {
        key: str(entry["wrd"]) for key, entry in json.loads((SPEECHBRAIN_DIR / "ASR_train.json").read_text()).items()
    }
    files = sorted(SPEECHBRAIN_DIR.glob(f"{speaker}_snt*.wav"))
    if not files:
        raise FileNotFoundError(f"no SpeechBrain recordings for {speaker} in {SPEECHBRAIN_DIR}")
    rows = [(f"sb-{speaker}", f, texts.get(f.stem, "")) for f in files]
    return [r for r in rows if r[2]] if transcribed_only else rows


def _interleave(groups: Sequence[Sequence[tuple[str, Path, str]]], seed: int) -> list[tuple[str, Path, str]]:
    """One conversation order: each speaker's utterances in their own order, the next speaker drawn at random
    (weighted by what they have left) among those who did not just speak."""
    rng = random.Random(seed)
    queues = [list(g) for g in groups if g]
    order: list[tuple[str, Path, str]] = []
    last = -1
    while any(queues):
        candidates = [i for i, q in enumerate(queues) if q and i != last] or [i for i, q in enumerate(queues) if q]
        pick = rng.choices(candidates, weights=[len(queues[i]) for i in candidates])[0]
        order.append(queues[pick].pop(0))
        last = pick
    return order


def real_conversations(out_dir: Path) -> list[Conversation]:
    """Stitched real recordings, speaker counts 2 to 6:

    real-2spk-speechbrain   sb-spk1, sb-spk2, the eight transcribed sentences (reference text for WER), ~25 s
    real-2spk-librispeech   ls-1688, ls-1998, all ten utterances each, ~2.5 min
    real-3spk-librispeech   ls-2033, ls-3080, ls-367, six each, short overlaps
    real-4spk-librispeech   ls-1688, ls-1998, ls-2033, ls-3080, five each
    real-5spk-librispeech   all five LibriSpeech speakers, four each, short overlaps
    real-6spk-mixed         ls-1998, ls-2033, ls-3080, ls-367 (four each) and sb-spk1, sb-spk2 (all six sentences)
    """
    ls = {s: _librispeech(s) for s in ("1688", "1998", "2033", "3080", "367")}
    sb = {s: _speechbrain(s) for s in ("spk1", "spk2")}
    sb_text = {s: _speechbrain(s, transcribed_only=True) for s in ("spk1", "spk2")}
    plans: list[tuple[str, list[list[tuple[str, Path, str]]], float, int]] = [
        ("real-2spk-speechbrain", [sb_text["spk1"], sb_text["spk2"]], 0.0, 201),
        ("real-2spk-librispeech", [ls["1688"], ls["1998"]], 0.0, 202),
        ("real-3spk-librispeech", [ls["2033"][:6], ls["3080"][:6], ls["367"][:6]], 0.25, 203),
        ("real-4spk-librispeech", [ls["1688"][5:], ls["1998"][5:], ls["2033"][4:9], ls["3080"][4:9]], 0.0, 204),
        ("real-5spk-librispeech", [ls[s][6:] for s in ls], 0.25, 205),
        (
            "real-6spk-mixed",
            [ls["1998"][:4], ls["2033"][6:], ls["3080"][6:], ls["367"][6:], sb["spk1"], sb["spk2"]],
            0.25,
            206,
        ),
    ]
    conversations = []
    for name, groups, overlap_prob, seed in plans:
        # Recordings are lines with an "audio:" voice, which is what stitch_recordings builds; going through
        # build_conversation directly adds the reference files and the reuse of an unchanged build.
        lines = [Line(speaker, text, f"audio:{path}") for speaker, path, text in _interleave(groups, seed)]
        conversations.append(
            build_conversation(lines, out_dir / f"{name}.wav", gap=(0.2, 0.9), overlap_prob=overlap_prob, seed=seed)
        )
    return conversations


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out_dir = Path(args[0]) if args else Path(__file__).resolve().parent / "out" / "corpus"
    for conv in synthetic_conversations(out_dir) + real_conversations(out_dir):
        words = len(conv.reference_text().split())
        shortest = min(t.duration for t in conv.turns)
        print(
            f"{conv.audio_path.name:32} {conv.duration:7.1f} s  {len(conv.speakers)} speakers {len(conv.turns):3} turns"
            f"  shortest {shortest:4.2f} s  overlap {conv.overlap_duration:4.1f} s  {words:4} words"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
